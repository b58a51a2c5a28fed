// Package watcher is the file provider: it polls a JSON dynamic configuration
// file and sends a new configuration message whenever its content changes.
package watcher

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"leakscope/testdata/gen/leakyproxy/pkg/config/dynamic"
	"leakscope/testdata/gen/leakyproxy/pkg/log"
)

// ProviderName is the name of the file provider.
const ProviderName = "file"

// FileWatcher polls a configuration file (mtime, size, then content hash).
type FileWatcher struct {
	Filename     string
	PollInterval time.Duration

	forceCh     chan struct{}
	lastModTime time.Time
	lastSize    int64
	lastSum     [sha256.Size]byte
}

// New creates a file watcher.
func New(filename string, pollInterval time.Duration) *FileWatcher {
	if pollInterval <= 0 {
		pollInterval = 100 * time.Millisecond
	}
	return &FileWatcher{
		Filename:     filename,
		PollInterval: pollInterval,
		forceCh:      make(chan struct{}, 1),
	}
}

// Provide starts the watcher goroutine which sends configurations to configurationChan.
func (p *FileWatcher) Provide(ctx context.Context, configurationChan chan<- dynamic.Message) error {
	if p.Filename == "" {
		return fmt.Errorf("no filename configured")
	}
	go p.watch(ctx, configurationChan)
	return nil
}

// Reload asks the watcher to re-read the file now (e.g. from POST /api/reload).
func (p *FileWatcher) Reload() {
	select {
	case p.forceCh <- struct{}{}:
	default:
	}
}

func (p *FileWatcher) watch(ctx context.Context, configurationChan chan<- dynamic.Message) {
	ticker := time.NewTicker(p.PollInterval)
	defer ticker.Stop()

	p.check(ctx, configurationChan, false)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			p.check(ctx, configurationChan, false)
		case <-p.forceCh:
			p.check(ctx, configurationChan, true)
		}
	}
}

func (p *FileWatcher) check(ctx context.Context, configurationChan chan<- dynamic.Message, force bool) {
	fi, err := os.Stat(p.Filename)
	if err != nil {
		// Missing file: no configuration yet.
		return
	}
	if !force && fi.ModTime().Equal(p.lastModTime) && fi.Size() == p.lastSize {
		return
	}

	conf, sum, err := p.loadFileConfig()
	if err != nil {
		log.WithoutContext().Errorf("Error reading configuration file %s: %v", p.Filename, err)
		return
	}
	p.lastModTime, p.lastSize = fi.ModTime(), fi.Size()
	if sum == p.lastSum {
		return
	}
	p.lastSum = sum

	select {
	case configurationChan <- dynamic.Message{ProviderName: ProviderName, Configuration: conf}:
	case <-ctx.Done():
	}
}

func (p *FileWatcher) loadFileConfig() (*dynamic.Configuration, [sha256.Size]byte, error) {
	data, err := os.ReadFile(p.Filename)
	if err != nil {
		return nil, [sha256.Size]byte{}, err
	}
	sum := sha256.Sum256(data)

	conf := &dynamic.Configuration{}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(conf); err != nil {
		return nil, sum, err
	}
	if conf.HTTP == nil {
		conf.HTTP = &dynamic.HTTPConfiguration{}
	}
	return conf, sum, nil
}
