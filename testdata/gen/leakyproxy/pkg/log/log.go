// Package log mirrors Traefik v2's pkg/log: a thin wrapper around a logrus
// logger.
package log

import (
	"io"

	"github.com/sirupsen/logrus"
)

var mainLogger = logrus.New()

func init() {
	mainLogger.SetOutput(io.Discard)
	mainLogger.SetLevel(logrus.InfoLevel)
}

// SetOutput sets the main logger output.
func SetOutput(w io.Writer) { mainLogger.SetOutput(w) }

// SetLevel sets the main logger level.
func SetLevel(level logrus.Level) { mainLogger.SetLevel(level) }

// WithoutContext returns a logger entry without any context fields.
func WithoutContext() *logrus.Entry {
	return logrus.NewEntry(mainLogger)
}

// WithField returns an entry with one field set.
func WithField(key string, value interface{}) *logrus.Entry {
	return mainLogger.WithField(key, value)
}
