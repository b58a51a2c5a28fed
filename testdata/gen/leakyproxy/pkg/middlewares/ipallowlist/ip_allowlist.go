// Package ipallowlist is the IP allow list middleware.
package ipallowlist

import (
	"context"
	"fmt"
	"net/http"

	"leakscope/testdata/gen/leakyproxy/pkg/config/dynamic"
	"leakscope/testdata/gen/leakyproxy/pkg/ip"
)

// ipAllowLister is a middleware that provides Checks of the Requesting IP against a set of Allowlists.
type ipAllowLister struct {
	next        http.Handler
	allowLister *ip.Checker
	name        string
}

// New builds a new IPAllowLister given a list of CIDR-Strings to allow.
func New(ctx context.Context, next http.Handler, config dynamic.IPAllowList, name string) (http.Handler, error) {
	if len(config.SourceRange) == 0 {
		return nil, fmt.Errorf("sourceRange is empty, IPAllowLister not created")
	}
	checker, err := ip.NewChecker(config.SourceRange)
	if err != nil {
		return nil, fmt.Errorf("cannot parse CIDRs %s: %w", config.SourceRange, err)
	}
	return &ipAllowLister{next: next, allowLister: checker, name: name}, nil
}

func (al *ipAllowLister) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	if err := al.allowLister.IsAuthorized(req.RemoteAddr); err != nil {
		http.Error(rw, http.StatusText(http.StatusForbidden), http.StatusForbidden)
		return
	}
	al.next.ServeHTTP(rw, req)
}
