// Package http is the HTTP muxer: it parses router rules and registers them
// on a gorilla/mux router (like Traefik v2.11's pkg/muxer/http).
package http

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/gorilla/mux"
)

// Muxer handles routing with rules.
type Muxer struct {
	*mux.Router
}

// NewMuxer returns a new muxer instance.
func NewMuxer() (*Muxer, error) {
	return &Muxer{Router: mux.NewRouter().SkipClean(true)}, nil
}

// AddRoute adds a new route to the router.
func (r *Muxer) AddRoute(rule string, priority int, handler http.Handler) error {
	route := r.NewRoute().Handler(handler)
	if err := addRuleOnRoute(route, rule); err != nil {
		route.BuildOnly()
		return err
	}
	return nil
}

var matcherRe = regexp.MustCompile("^([A-Za-z]+)\\((.*)\\)$")

func parseArgs(raw string) []string {
	var args []string
	for _, a := range strings.Split(raw, ",") {
		a = strings.TrimSpace(a)
		a = strings.Trim(a, "`\"")
		if a != "" {
			args = append(args, a)
		}
	}
	return args
}

// addRuleOnRoute parses a rule such as "PathPrefix(`/api`) && Method(`GET`)"
// and adds the matching gorilla/mux matchers on route.
func addRuleOnRoute(route *mux.Route, rule string) error {
	for _, part := range strings.Split(rule, "&&") {
		m := matcherRe.FindStringSubmatch(strings.TrimSpace(part))
		if m == nil {
			return fmt.Errorf("invalid rule %q", rule)
		}
		args := parseArgs(m[2])
		if len(args) == 0 {
			return fmt.Errorf("empty args for matcher %s in rule %q", m[1], rule)
		}
		switch m[1] {
		case "Path":
			route.Path(args[0])
		case "PathPrefix":
			route.PathPrefix(args[0])
		case "Host":
			route.Host(args[0])
		case "Method":
			route.Methods(args...)
		case "Headers":
			route.Headers(args...)
		default:
			return fmt.Errorf("unknown matcher %s in rule %q", m[1], rule)
		}
	}
	return route.GetError()
}
