package local

import (
	"net/http"
	"strings"
	"time"

	"github.com/pulsehub/pulsehub/shared/metrics"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the runtime's Prometheus metrics, on their own registry (no
// process-global state, so tests can run several runtimes).
type Metrics struct {
	reg         *prometheus.Registry
	invocations *prometheus.CounterVec
	errors      *prometheus.CounterVec
	throttles   *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	queueDepth  *prometheus.GaugeVec
	business    *prometheus.CounterVec
}

func newMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulsehub_invocations_total", Help: "Function invocations.",
		}, []string{"function"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulsehub_invocation_errors_total", Help: "Invocations that returned an error, panicked or timed out.",
		}, []string{"function"}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulsehub_throttles_total", Help: "Synchronous invocations refused at the reserved concurrency.",
		}, []string{"function"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pulsehub_invocation_duration_seconds", Help: "Invocation duration.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"function"}),
		queueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pulsehub_queue_messages", Help: "SQS messages by queue and state (visible, in_flight), sampled every few seconds.",
		}, []string{"queue", "state"}),
	}
	m.business = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pulsehub_business_metric_sum", Help: "Sum of each business metric the functions record (CloudWatch EMF in AWS), by dimension set.",
	}, []string{"function", "metric", "unit", "dimensions"})
	m.reg.MustRegister(m.invocations, m.errors, m.throttles, m.duration, m.queueDepth, m.business,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// gauge registers a gauge computed at scrape time (e.g. WebSocket connections).
func (m *Metrics) gauge(name, help string, f func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

func (m *Metrics) observe(fn string, d time.Duration, err error) {
	m.invocations.WithLabelValues(fn).Inc()
	m.duration.WithLabelValues(fn).Observe(d.Seconds())
	if err != nil {
		m.errors.WithLabelValues(fn).Inc()
	}
}

func (m *Metrics) throttled(fn string) { m.throttles.WithLabelValues(fn).Inc() }

func (m *Metrics) setQueueDepth(queue string, visible, inFlight float64) {
	m.queueDepth.WithLabelValues(queue, "visible").Set(visible)
	m.queueDepth.WithLabelValues(queue, "in_flight").Set(inFlight)
}

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// sink mirrors a function's business metrics (shared/metrics) into
// Prometheus, where AWS would extract them from EMF log lines.
func (m *Metrics) sink(function string) metrics.Sink { return promSink{m, function} }

type promSink struct {
	m        *Metrics
	function string
}

func (s promSink) Observe(name string, unit metrics.Unit, v float64, dims []metrics.Dim) {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = d.Name + "=" + d.Value
	}
	s.m.business.WithLabelValues(s.function, name, string(unit), strings.Join(parts, ",")).Add(v)
}
