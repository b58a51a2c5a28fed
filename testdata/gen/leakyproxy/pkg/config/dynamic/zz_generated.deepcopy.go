package dynamic

// DeepCopy copies all the configurations.
func (in Configurations) DeepCopy() Configurations {
	if in == nil {
		return nil
	}
	out := make(Configurations, len(in))
	for k, v := range in {
		out[k] = v.DeepCopy()
	}
	return out
}

// DeepCopy copies the configuration.
func (in *Configuration) DeepCopy() *Configuration {
	if in == nil {
		return nil
	}
	out := new(Configuration)
	in.DeepCopyInto(out)
	return out
}

// DeepCopyInto copies the receiver into out.
func (in *Configuration) DeepCopyInto(out *Configuration) {
	*out = *in
	if in.HTTP != nil {
		out.HTTP = new(HTTPConfiguration)
		in.HTTP.DeepCopyInto(out.HTTP)
	}
}

// DeepCopyInto copies the receiver into out.
func (in *HTTPConfiguration) DeepCopyInto(out *HTTPConfiguration) {
	*out = *in
	if in.Routers != nil {
		out.Routers = make(map[string]*Router, len(in.Routers))
		for k, v := range in.Routers {
			out.Routers[k] = v.DeepCopy()
		}
	}
	if in.Services != nil {
		out.Services = make(map[string]*Service, len(in.Services))
		for k, v := range in.Services {
			out.Services[k] = v.DeepCopy()
		}
	}
	if in.Middlewares != nil {
		out.Middlewares = make(map[string]*Middleware, len(in.Middlewares))
		for k, v := range in.Middlewares {
			out.Middlewares[k] = v.DeepCopy()
		}
	}
}

// DeepCopy copies the router.
func (in *Router) DeepCopy() *Router {
	if in == nil {
		return nil
	}
	out := new(Router)
	*out = *in
	out.EntryPoints = append([]string(nil), in.EntryPoints...)
	out.Middlewares = append([]string(nil), in.Middlewares...)
	return out
}

// DeepCopy copies the service.
func (in *Service) DeepCopy() *Service {
	if in == nil {
		return nil
	}
	out := new(Service)
	if in.LoadBalancer != nil {
		lb := *in.LoadBalancer
		lb.Servers = append([]Server(nil), in.LoadBalancer.Servers...)
		if in.LoadBalancer.PassHostHeader != nil {
			b := *in.LoadBalancer.PassHostHeader
			lb.PassHostHeader = &b
		}
		if in.LoadBalancer.ResponseForwarding != nil {
			rf := *in.LoadBalancer.ResponseForwarding
			lb.ResponseForwarding = &rf
		}
		out.LoadBalancer = &lb
	}
	if in.Weighted != nil {
		w := &WeightedRoundRobin{Services: make([]WRRService, len(in.Weighted.Services))}
		for i, s := range in.Weighted.Services {
			w.Services[i] = WRRService{Name: s.Name}
			if s.Weight != nil {
				weight := *s.Weight
				w.Services[i].Weight = &weight
			}
		}
		out.Weighted = w
	}
	return out
}

// DeepCopy copies the middleware.
func (in *Middleware) DeepCopy() *Middleware {
	if in == nil {
		return nil
	}
	out := new(Middleware)
	if in.Headers != nil {
		out.Headers = &Headers{
			CustomRequestHeaders:  copyStringMap(in.Headers.CustomRequestHeaders),
			CustomResponseHeaders: copyStringMap(in.Headers.CustomResponseHeaders),
		}
	}
	if in.StripPrefix != nil {
		out.StripPrefix = &StripPrefix{Prefixes: append([]string(nil), in.StripPrefix.Prefixes...)}
	}
	if in.IPAllowList != nil {
		out.IPAllowList = &IPAllowList{SourceRange: append([]string(nil), in.IPAllowList.SourceRange...)}
	}
	return out
}

func copyStringMap(in map[string]string) map[string]string {
	if in == nil {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}
