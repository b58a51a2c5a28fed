// Package server wires the providers, the configuration watcher, the router
// factory and the entry points together.
package server

import (
	"context"
	"reflect"

	"leakscope/testdata/gen/leakyproxy/pkg/config/dynamic"
	"leakscope/testdata/gen/leakyproxy/pkg/log"
)

// Provider sends dynamic configurations to the configuration watcher.
type Provider interface {
	Provide(ctx context.Context, configurationChan chan<- dynamic.Message) error
}

// ConfigurationWatcher watches configuration changes.
type ConfigurationWatcher struct {
	provider           Provider
	defaultEntryPoints []string

	allProvidersConfigs chan dynamic.Message
	newConfigs          chan dynamic.Configurations

	configurationListeners []func(dynamic.Configuration)
}

// NewConfigurationWatcher creates a new ConfigurationWatcher.
func NewConfigurationWatcher(pvd Provider, defaultEntryPoints []string) *ConfigurationWatcher {
	return &ConfigurationWatcher{
		provider:            pvd,
		defaultEntryPoints:  defaultEntryPoints,
		allProvidersConfigs: make(chan dynamic.Message, 100),
		newConfigs:          make(chan dynamic.Configurations),
	}
}

// Start the configuration watcher.
func (c *ConfigurationWatcher) Start(ctx context.Context) {
	go c.receiveConfigurations(ctx)
	go c.applyConfigurations(ctx)
	go c.startProviderAggregator(ctx)
}

// AddListener adds a new listener function used when new configuration is provided.
func (c *ConfigurationWatcher) AddListener(listener func(dynamic.Configuration)) {
	c.configurationListeners = append(c.configurationListeners, listener)
}

func (c *ConfigurationWatcher) startProviderAggregator(ctx context.Context) {
	if err := c.provider.Provide(ctx, c.allProvidersConfigs); err != nil {
		log.WithoutContext().Errorf("Error starting provider: %v", err)
	}
}

// receiveConfigurations receives configuration from all providers, keeps the
// latest configuration of each one and hands the set over to applyConfigurations.
func (c *ConfigurationWatcher) receiveConfigurations(ctx context.Context) {
	newConfigurations := make(dynamic.Configurations)
	var output chan dynamic.Configurations
	for {
		select {
		case <-ctx.Done():
			return
		case configMsg, ok := <-c.allProvidersConfigs:
			if !ok {
				return
			}
			if configMsg.Configuration == nil {
				continue
			}
			if reflect.DeepEqual(newConfigurations[configMsg.ProviderName], configMsg.Configuration) {
				continue
			}
			newConfigurations[configMsg.ProviderName] = configMsg.Configuration.DeepCopy()
			output = c.newConfigs
		case output <- newConfigurations.DeepCopy():
			output = nil
		}
	}
}

// applyConfigurations merges the provider configurations and calls every listener.
func (c *ConfigurationWatcher) applyConfigurations(ctx context.Context) {
	var lastConfigurations dynamic.Configurations
	for {
		select {
		case <-ctx.Done():
			return
		case newConfigs, ok := <-c.newConfigs:
			if !ok {
				return
			}
			if reflect.DeepEqual(newConfigs, lastConfigurations) {
				continue
			}
			conf := mergeConfiguration(newConfigs.DeepCopy(), c.defaultEntryPoints)
			for _, listener := range c.configurationListeners {
				listener(conf)
			}
			lastConfigurations = newConfigs
		}
	}
}
