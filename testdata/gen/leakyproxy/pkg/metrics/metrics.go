package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Counter is a counter whose label values are set with With.
type Counter interface {
	With(labelValues ...string) Counter
	Add(delta float64)
}

// Gauge is a gauge whose label values are set with With.
type Gauge interface {
	With(labelValues ...string) Gauge
	Set(value float64)
	Add(delta float64)
}

// Histogram is a histogram whose label values are set with With.
type Histogram interface {
	With(labelValues ...string) Histogram
	Observe(value float64)
	ObserveFromStart(start time.Time)
}

type counter struct {
	cv               *prometheus.CounterVec
	labelNamesValues labelNamesValues
}

func newCounterFrom(opts prometheus.CounterOpts, labelNames []string) *counter {
	c := &counter{cv: prometheus.NewCounterVec(opts, labelNames)}
	if len(labelNames) == 0 {
		c.Add(0)
	}
	return c
}

func (c *counter) With(labelValues ...string) Counter {
	return &counter{cv: c.cv, labelNamesValues: c.labelNamesValues.With(labelValues...)}
}

func (c *counter) Add(delta float64) {
	c.cv.With(c.labelNamesValues.ToLabels()).Add(delta)
}

type gauge struct {
	gv               *prometheus.GaugeVec
	labelNamesValues labelNamesValues
}

func newGaugeFrom(opts prometheus.GaugeOpts, labelNames []string) *gauge {
	g := &gauge{gv: prometheus.NewGaugeVec(opts, labelNames)}
	if len(labelNames) == 0 {
		g.Set(0)
	}
	return g
}

func (g *gauge) With(labelValues ...string) Gauge {
	return &gauge{gv: g.gv, labelNamesValues: g.labelNamesValues.With(labelValues...)}
}

func (g *gauge) Set(value float64) {
	g.gv.With(g.labelNamesValues.ToLabels()).Set(value)
}

func (g *gauge) Add(delta float64) {
	g.gv.With(g.labelNamesValues.ToLabels()).Add(delta)
}

type histogram struct {
	hv               *prometheus.HistogramVec
	labelNamesValues labelNamesValues
}

func newHistogramFrom(opts prometheus.HistogramOpts, labelNames []string) *histogram {
	return &histogram{hv: prometheus.NewHistogramVec(opts, labelNames)}
}

func (h *histogram) With(labelValues ...string) Histogram {
	return &histogram{hv: h.hv, labelNamesValues: h.labelNamesValues.With(labelValues...)}
}

func (h *histogram) Observe(value float64) {
	h.hv.With(h.labelNamesValues.ToLabels()).Observe(value)
}

func (h *histogram) ObserveFromStart(start time.Time) {
	h.Observe(time.Since(start).Seconds())
}

// labelNamesValues is a flat list of label names and values.
type labelNamesValues []string

// With returns a copy with the given name/value pairs appended.
func (lvs labelNamesValues) With(labelValues ...string) labelNamesValues {
	if len(labelValues)%2 != 0 {
		labelValues = append(labelValues, "unknown")
	}
	labels := make([]string, len(lvs)+len(labelValues))
	n := copy(labels, lvs)
	copy(labels[n:], labelValues)
	return labels
}

// ToLabels is a convenience method to convert a labelNamesValues to the native prometheus.Labels.
func (lvs labelNamesValues) ToLabels() prometheus.Labels {
	labels := make(prometheus.Labels, len(lvs)/2)
	for i := 0; i < len(lvs); i += 2 {
		labels[lvs[i]] = lvs[i+1]
	}
	return labels
}
