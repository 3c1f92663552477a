package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// explanationReport is the engine's report (rust/src/explain/mod.rs owns its fields; the golden
// tests of this command compare both forms).
type explanationReport struct {
	Resources []struct {
		Resource   int                        `json:"resource"`
		FirstSeen  int                        `json:"first_seen"`
		TimesSeen  int                        `json:"times_seen"`
		Partition  string                     `json:"partition"`
		Attributes map[string]json.RawMessage `json:"attributes"`
		ID         *string                    `json:"id"`
		Type       *string                    `json:"type"`
		Name       *string                    `json:"name"`
		Matched    *struct {
			Rule *struct {
				Rule        string            `json:"rule"`
				Alternative int               `json:"alternative"`
				Identity    map[string]string `json:"identity"`
			} `json:"rule"`
			EntityRef *struct {
				EntityType string   `json:"entity_type"`
				IDKeys     []string `json:"id_keys"`
			} `json:"entity_ref"`
		} `json:"matched"`
		Derived map[string]string `json:"derived"`
		Links   []struct {
			Kind string `json:"kind"`
			From string `json:"from"`
			To   string `json:"to"`
		} `json:"links"`
		Pooled []struct {
			Key   string          `json:"key"`
			Value json.RawMessage `json:"value"`
			From  []int           `json:"from"`
		} `json:"pooled"`
		AmbiguousLinks []map[string]string `json:"ambiguous_links"`
		Refused        []struct {
			Key    string `json:"key"`
			Reason string `json:"reason"`
			Values []struct {
				Value     json.RawMessage   `json:"value"`
				From      int               `json:"from"`
				Container map[string]string `json:"container"`
			} `json:"values"`
			Container map[string]string `json:"container"`
			Scope     *struct {
				Rule *struct {
					Rule  string   `json:"rule"`
					Pools []string `json:"pools"`
				} `json:"rule"`
				Exclude *struct {
					Pattern string `json:"pattern"`
				} `json:"exclude"`
			} `json:"scope"`
		} `json:"refused"`
	} `json:"resources"`
	Summary struct {
		Resources int `json:"resources"`
		Entities  int `json:"entities"`
		ByType    map[string]struct {
			Entities  int `json:"entities"`
			Resources int `json:"resources"`
		} `json:"by_type"`
		Largest []struct {
			ID        string `json:"id"`
			Type      string `json:"type"`
			Resources []int  `json:"resources"`
		} `json:"largest"`
		JoinedThroughLink []int `json:"joined_through_link"`
		Unmatched         []int `json:"unmatched"`
	} `json:"summary"`
}

// renderTable prints the report for a reader: one block per distinct resource, then the
// summary. labels[i] says where the i-th resource fed came from.
func renderTable(w io.Writer, r explanationReport, labels []string) error {
	var tw *tabwriter.Writer
	row := func(field, format string, args ...any) {
		fmt.Fprintf(tw, "    %s\t%s\n", field, fmt.Sprintf(format, args...))
	}
	for _, e := range r.Resources {
		where := ""
		if e.FirstSeen < len(labels) {
			where = labels[e.FirstSeen]
		}
		fmt.Fprintf(w, "#%d  %s, seen %s\n", e.Resource, where, plural(e.TimesSeen, "time"))
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		if e.Partition != "" {
			row("partition", "%s", e.Partition)
		}
		row("attributes", "%s", attributes(e.Attributes))
		switch m := e.Matched; {
		case m == nil:
			row("matched", "no rule: left as it is")
		case m.Rule != nil && len(m.Rule.Identity) == 0:
			row("matched", "rule %s, identity: every attribute (exact match)", m.Rule.Rule)
		case m.Rule != nil:
			row("matched", "rule %s, identity alternative %d: %s", m.Rule.Rule, m.Rule.Alternative, pairs(m.Rule.Identity))
		case m.EntityRef != nil:
			row("matched", "declared entity ref %s, by %s", m.EntityRef.EntityType, strings.Join(m.EntityRef.IDKeys, ", "))
		}
		if len(e.Derived) > 0 {
			row("derived", "%s", pairs(e.Derived))
		}
		for _, l := range e.Links {
			row("link", "%s: %s -> %s", l.Kind, l.From, l.To)
		}
		for _, identity := range e.AmbiguousLinks {
			row("link", "ambiguous: %s is claimed by two entities, so it joins nothing", pairs(identity))
		}
		if e.ID != nil {
			name := ""
			if e.Name != nil {
				name = fmt.Sprintf(" %q", *e.Name)
			}
			row("entity", "%s %s%s", deref(e.Type), *e.ID, name)
		}
		for _, p := range e.Pooled {
			row("pooled", "%s = %s  from %s", p.Key, value(p.Value), resources(p.From))
		}
		for _, p := range e.Refused {
			// The evidence: the scope or this resource's container, then each value reported
			// with its source (and the container the source named).
			var evidence []string
			switch sc := p.Scope; {
			case sc == nil:
			case sc.Rule != nil:
				evidence = append(evidence, fmt.Sprintf("not in rule %s's pool of %s (--json lists them)",
					sc.Rule.Rule, plural(len(sc.Rule.Pools), "pattern")))
			case sc.Exclude != nil:
				evidence = append(evidence, "pooling.exclude "+sc.Exclude.Pattern)
			default:
				evidence = append(evidence, "a declared entity ref pools only its id and description keys")
			}
			if p.Container != nil {
				evidence = append(evidence, "this resource names "+container(p.Container))
			}
			values := make([]string, len(p.Values))
			for i, v := range p.Values {
				values[i] = fmt.Sprintf("%s (#%d)", value(v.Value), v.From)
				if v.Container != nil {
					values[i] = fmt.Sprintf("%s (#%d, %s)", value(v.Value), v.From, container(v.Container))
				}
			}
			if len(values) > 0 {
				evidence = append(evidence, strings.Join(values, ", "))
			}
			detail := ""
			if len(evidence) > 0 {
				detail = ": " + strings.Join(evidence, "; ")
			}
			row("refused", "%s  %s%s", p.Key, p.Reason, detail)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	s := r.Summary
	fmt.Fprintf(tw, "summary: %s -> %s\n", plural(s.Resources, "distinct resource"), plural(s.Entities, "entity"))
	for _, t := range slices.Sorted(maps.Keys(s.ByType)) {
		c := s.ByType[t]
		fmt.Fprintf(tw, "    %s\t%s\t%s\n", t, plural(c.Entities, "entity"), plural(c.Resources, "resource"))
	}
	for _, g := range s.Largest {
		if len(g.Resources) < 2 {
			break
		}
		fmt.Fprintf(tw, "    largest\t%s %s\t%s\n", g.Type, g.ID, resources(g.Resources))
	}
	fmt.Fprintf(tw, "    joined through a link\t%s\n", resources(s.JoinedThroughLink))
	fmt.Fprintf(tw, "    matched no rule\t%s\n", resources(s.Unmatched))
	return tw.Flush()
}

func attributes(attrs map[string]json.RawMessage) string {
	parts := make([]string, 0, len(attrs))
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		parts = append(parts, k+"="+value(attrs[k]))
	}
	return strings.Join(parts, " ")
}

func pairs(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, " ")
}

// container names a container by the keys and values a resource gave it.
func container(naming map[string]string) string {
	if len(naming) == 0 {
		return "no container"
	}
	return pairs(naming)
}

// value shows a JSON value: a string as itself, anything else as JSON.
func value(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

func resources(ns []int) string {
	if len(ns) == 0 {
		return "none"
	}
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = fmt.Sprintf("#%d", n)
	}
	return strings.Join(parts, " ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	if strings.HasSuffix(noun, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(noun, "y"))
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
