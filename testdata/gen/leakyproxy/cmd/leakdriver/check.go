package main

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/google/pprof/profile"
)

// categories are the leak categories of expected.json, in output order.
var categories = []string{"http-request", "config-reload", "metrics"}

// categoryOf attributes a heap sample to the injected leak whose frame is
// nearest to the allocation site (walking from the leaf), or "" if none.
// This is only the driver's sanity check of the fixtures, not an analyzer.
func categoryOf(s *profile.Sample) string {
	for _, loc := range s.Location {
		// Inlined frames: Line[0] is the innermost.
		for _, line := range loc.Line {
			if line.Function == nil {
				continue
			}
			name := line.Function.Name
			switch {
			case strings.HasPrefix(name, "github.com/prometheus/client_golang/"):
				return "metrics"
			case strings.HasPrefix(name, "github.com/sirupsen/logrus.(*Entry).writerScanner"),
				strings.Contains(name, "/pkg/server.(*ConfigurationWatcher)."),
				strings.HasPrefix(name, "main.switchRouter"):
				return "config-reload"
			case strings.Contains(name, "/pkg/middlewares/requestdecorator."):
				return "http-request"
			}
		}
	}
	return ""
}

type heapSummary struct {
	total      int64
	byCategory map[string]int64
}

func summarizeHeap(data []byte) (heapSummary, error) {
	p, err := profile.Parse(bytes.NewReader(data))
	if err != nil {
		return heapSummary{}, err
	}
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == "inuse_space" {
			idx = i
		}
	}
	if idx < 0 {
		return heapSummary{}, fmt.Errorf("no inuse_space sample type")
	}
	sum := heapSummary{byCategory: map[string]int64{}}
	for _, s := range p.Sample {
		v := s.Value[idx]
		sum.total += v
		if c := categoryOf(s); c != "" {
			sum.byCategory[c] += v
		}
	}
	return sum, nil
}

// growthCheck is written to meta.json.
type growthCheck struct {
	InuseGrowthBytes    int64            `json:"inuse_growth_bytes"`
	MaxStepGrowthBytes  int64            `json:"max_step_abs_growth_bytes"`
	CategoryGrowthBytes map[string]int64 `json:"category_growth_bytes"`
	MinLeakGrowthBytes  int64            `json:"min_leak_growth_bytes"`
	MaxOtherGrowthBytes int64            `json:"max_other_growth_bytes"`
	MaxFixedGrowthBytes int64            `json:"max_fixed_growth_bytes"`
	MaxFixedStepBytes   int64            `json:"max_fixed_step_bytes"`
	Passed              bool             `json:"passed"`
	Reason              string           `json:"reason"`
}

// checkGrowth compares the first and the last heap snapshot: every injected
// leak must grow by at least minLeak and the other categories by at most
// maxOther. Without leak, the total in-use heap must stay within ±maxFixed
// between the first and the last snapshot and within ±maxFixedStep between
// any two consecutive ones (one heap sample weighs ~512 KiB).
func checkGrowth(heaps [][]byte, expected []string, minLeak, maxOther, maxFixed, maxFixedStep int64) (growthCheck, error) {
	sums := make([]heapSummary, len(heaps))
	for i, h := range heaps {
		var err error
		if sums[i], err = summarizeHeap(h); err != nil {
			return growthCheck{}, err
		}
	}
	a, b := sums[0], sums[len(sums)-1]
	gc := growthCheck{
		InuseGrowthBytes:    b.total - a.total,
		CategoryGrowthBytes: map[string]int64{},
		MinLeakGrowthBytes:  minLeak,
		MaxOtherGrowthBytes: maxOther,
		MaxFixedGrowthBytes: maxFixed,
		MaxFixedStepBytes:   maxFixedStep,
		Passed:              true,
		Reason:              "ok",
	}
	for i := 1; i < len(sums); i++ {
		d := sums[i].total - sums[i-1].total
		if d < 0 {
			d = -d
		}
		if d > gc.MaxStepGrowthBytes {
			gc.MaxStepGrowthBytes = d
		}
	}
	var problems []string
	for _, c := range categories {
		g := b.byCategory[c] - a.byCategory[c]
		gc.CategoryGrowthBytes[c] = g
		if contains(expected, c) {
			if g < minLeak {
				problems = append(problems, fmt.Sprintf("%s grew %d < %d", c, g, minLeak))
			}
		} else if g > maxOther {
			problems = append(problems, fmt.Sprintf("%s grew %d > %d", c, g, maxOther))
		}
	}
	if len(expected) == 0 {
		if gc.InuseGrowthBytes > maxFixed || gc.InuseGrowthBytes < -maxFixed {
			problems = append(problems, fmt.Sprintf("total in-use growth %d outside ±%d", gc.InuseGrowthBytes, maxFixed))
		}
		if gc.MaxStepGrowthBytes > maxFixedStep {
			problems = append(problems, fmt.Sprintf("in-use change between consecutive snapshots %d > %d", gc.MaxStepGrowthBytes, maxFixedStep))
		}
	}
	if len(problems) > 0 {
		gc.Passed = false
		gc.Reason = strings.Join(problems, "; ")
	}
	return gc, nil
}
