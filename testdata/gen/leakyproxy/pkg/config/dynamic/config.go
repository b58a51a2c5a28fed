// Package dynamic holds the dynamic configuration (routers, services,
// middlewares) read from the file provider, like Traefik's pkg/config/dynamic.
package dynamic

// Message is what a provider sends when its configuration changed.
type Message struct {
	ProviderName  string
	Configuration *Configuration
}

// Configurations is the set of configurations, one per provider.
type Configurations map[string]*Configuration

// Configuration is the root of the dynamic configuration.
type Configuration struct {
	HTTP *HTTPConfiguration `json:"http,omitempty"`
}

// HTTPConfiguration contains all the HTTP configuration parameters.
type HTTPConfiguration struct {
	Routers     map[string]*Router     `json:"routers,omitempty"`
	Services    map[string]*Service    `json:"services,omitempty"`
	Middlewares map[string]*Middleware `json:"middlewares,omitempty"`
}

// Router holds the router configuration.
type Router struct {
	EntryPoints []string `json:"entryPoints,omitempty"`
	Middlewares []string `json:"middlewares,omitempty"`
	Service     string   `json:"service,omitempty"`
	Rule        string   `json:"rule,omitempty"`
	Priority    int      `json:"priority,omitempty"`
}

// Service holds a service configuration (only one field is set).
type Service struct {
	LoadBalancer *ServersLoadBalancer `json:"loadBalancer,omitempty"`
	Weighted     *WeightedRoundRobin  `json:"weighted,omitempty"`
}

// ServersLoadBalancer holds the load balancer configuration.
type ServersLoadBalancer struct {
	Servers            []Server            `json:"servers,omitempty"`
	PassHostHeader     *bool               `json:"passHostHeader,omitempty"`
	ResponseForwarding *ResponseForwarding `json:"responseForwarding,omitempty"`
	ServersTransport   string              `json:"serversTransport,omitempty"`
}

// ResponseForwarding holds the response forwarding configuration.
type ResponseForwarding struct {
	FlushInterval string `json:"flushInterval,omitempty"`
}

// Server holds a backend server URL.
type Server struct {
	URL string `json:"url,omitempty"`
}

// WeightedRoundRobin is a weighted round robin load-balancer of services.
type WeightedRoundRobin struct {
	Services []WRRService `json:"services,omitempty"`
}

// WRRService is a reference to a service load-balanced with weighted round robin.
type WRRService struct {
	Name   string `json:"name,omitempty"`
	Weight *int   `json:"weight,omitempty"`
}

// Middleware holds a middleware configuration (only one field is set).
type Middleware struct {
	Headers     *Headers     `json:"headers,omitempty"`
	StripPrefix *StripPrefix `json:"stripPrefix,omitempty"`
	IPAllowList *IPAllowList `json:"ipAllowList,omitempty"`
}

// Headers holds the custom headers configuration.
type Headers struct {
	CustomRequestHeaders  map[string]string `json:"customRequestHeaders,omitempty"`
	CustomResponseHeaders map[string]string `json:"customResponseHeaders,omitempty"`
}

// StripPrefix holds the strip prefix configuration.
type StripPrefix struct {
	Prefixes []string `json:"prefixes,omitempty"`
}

// IPAllowList holds the IP allow list configuration.
type IPAllowList struct {
	SourceRange []string `json:"sourceRange,omitempty"`
}
