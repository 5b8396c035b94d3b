package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// Unit is a CloudWatch unit.
type Unit string

// The units the Recorder writes.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
)

// Dim is one dimension of a metric. Keep values low-cardinality (channel,
// provider, outcome): never a tenant, customer or message id.
type Dim struct{ Name, Value string }

// Sink receives every observation as it is recorded, e.g. to mirror it into
// Prometheus in the local runtime. It must be safe for concurrent use.
type Sink interface {
	Observe(name string, unit Unit, value float64, dims []Dim)
}

// EMF limits per log line.
const (
	maxDims    = 30  // dimensions in a dimension set
	maxMetrics = 100 // metrics in one directive
	maxValues  = 100 // values of one metric in one line
)

// Recorder collects metrics until Flush. Safe for concurrent use.
type Recorder struct {
	mu        sync.Mutex
	w         io.Writer
	namespace string
	function  string
	now       func() time.Time
	sink      Sink
	sets      map[string]*dimSet
}

type dimSet struct {
	dims    []Dim // "Function" first, then sorted by name
	metrics map[string]*metric
}

type metric struct {
	unit   Unit
	values []float64 // durations: every value; counts: one running sum
}

// Option configures a Recorder.
type Option func(*Recorder)

// WithSink mirrors every observation into s.
func WithSink(s Sink) Option { return func(r *Recorder) { r.sink = s } }

// WithClock sets the clock stamping each flushed line (default time.Now).
func WithClock(now func() time.Time) Option { return func(r *Recorder) { r.now = now } }

// New returns a Recorder writing EMF lines to w (os.Stdout in Lambda) under
// namespace, with a Function dimension on every metric.
func New(w io.Writer, namespace, function string, opts ...Option) *Recorder {
	r := &Recorder{w: w, namespace: namespace, function: function, now: time.Now, sets: map[string]*dimSet{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Count adds v to the counter name under dims. ctx is taken so call sites
// read like the logger's; the Recorder itself does not need it.
func (r *Recorder) Count(_ context.Context, name string, v float64, dims ...Dim) {
	r.record(name, Count, v, dims)
}

// Duration records one duration of name under dims, in milliseconds.
func (r *Recorder) Duration(_ context.Context, name string, d time.Duration, dims ...Dim) {
	r.record(name, Milliseconds, float64(d)/float64(time.Millisecond), dims)
}

func (r *Recorder) record(name string, unit Unit, v float64, dims []Dim) {
	// CloudWatch rejects non-finite values and JSON cannot carry them;
	// metrics are best-effort, so such a value is dropped, not an error.
	if name == "" || math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	set := r.normalise(dims)
	// A metric named like a dimension would overwrite it in the line.
	if name == "_aws" || slices.ContainsFunc(set, func(d Dim) bool { return d.Name == name }) {
		return
	}
	key := setKey(set)
	r.mu.Lock()
	s := r.sets[key]
	if s == nil {
		s = &dimSet{dims: set, metrics: map[string]*metric{}}
		r.sets[key] = s
	}
	m := s.metrics[name]
	if m == nil {
		m = &metric{unit: unit}
		s.metrics[name] = m
	}
	if unit == Count && len(m.values) == 1 {
		m.values[0] += v
	} else {
		m.values = append(m.values, v)
	}
	r.mu.Unlock()
	if r.sink != nil {
		r.sink.Observe(name, unit, v, set)
	}
}

// normalise puts Function first and the rest sorted by name, the last of
// duplicate names winning, capped at EMF's 30 dimensions.
func (r *Recorder) normalise(dims []Dim) []Dim {
	out := make([]Dim, 0, len(dims)+1)
	out = append(out, Dim{"Function", r.function})
	rest := slices.Clone(dims)
	slices.SortStableFunc(rest, func(a, b Dim) int { return strings.Compare(a.Name, b.Name) })
	for i, d := range rest {
		if d.Name == "" || d.Name == "Function" || d.Name == "_aws" || (i+1 < len(rest) && rest[i+1].Name == d.Name) {
			continue
		}
		if len(out) == maxDims {
			break
		}
		out = append(out, d)
	}
	return out
}

func setKey(dims []Dim) string {
	var b strings.Builder
	for _, d := range dims {
		b.WriteString(d.Name)
		b.WriteByte(0)
		b.WriteString(d.Value)
		b.WriteByte(0)
	}
	return b.String()
}

// Flush writes what was recorded since the last Flush, one line per
// dimension set (more when a set exceeds EMF's 100 metrics or 100 values),
// and clears it. Call it at the end of every invocation.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	sets := r.sets
	if len(sets) == 0 {
		r.mu.Unlock()
		return nil // most invocations record nothing: no allocation
	}
	r.sets = map[string]*dimSet{}
	r.mu.Unlock()
	ts := r.now().UnixMilli()
	var buf []byte
	for _, key := range slices.Sorted(maps.Keys(sets)) {
		s := sets[key]
		names := slices.Sorted(maps.Keys(s.metrics))
		for _, line := range s.lines(names) {
			b, err := r.line(ts, s.dims, line)
			if err != nil {
				return fmt.Errorf("metrics: encode: %w", err)
			}
			buf = append(append(buf, b...), '\n')
		}
	}
	if _, err := r.w.Write(buf); err != nil {
		return fmt.Errorf("metrics: write: %w", err)
	}
	return nil
}

// part is one metric's values in one line.
type part struct {
	name   string
	unit   Unit
	values []float64
}

// lines splits a set's metrics into lines within EMF's limits.
func (s *dimSet) lines(names []string) [][]part {
	var out [][]part
	offset := map[string]int{}
	for {
		var line []part
		for _, n := range names {
			m := s.metrics[n]
			o := offset[n]
			if o >= len(m.values) || len(line) == maxMetrics {
				continue
			}
			end := min(o+maxValues, len(m.values))
			line = append(line, part{n, m.unit, m.values[o:end]})
			offset[n] = end
		}
		if len(line) == 0 {
			return out
		}
		out = append(out, line)
	}
}

type directive struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"`
	Metrics    []metricDecl `json:"Metrics"`
}

type metricDecl struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit"`
}

func (r *Recorder) line(ts int64, dims []Dim, parts []part) ([]byte, error) {
	doc := make(map[string]any, len(dims)+len(parts)+1)
	names := make([]string, len(dims))
	for i, d := range dims {
		names[i] = d.Name
		doc[d.Name] = d.Value
	}
	decls := make([]metricDecl, len(parts))
	for i, p := range parts {
		decls[i] = metricDecl{Name: p.name, Unit: p.unit}
		if len(p.values) == 1 {
			doc[p.name] = p.values[0]
		} else {
			doc[p.name] = p.values
		}
	}
	doc["_aws"] = map[string]any{
		"Timestamp":         ts,
		"CloudWatchMetrics": []directive{{Namespace: r.namespace, Dimensions: [][]string{names}, Metrics: decls}},
	}
	return json.Marshal(doc)
}
