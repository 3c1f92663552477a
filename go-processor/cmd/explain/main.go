// Command explain tells why the resourceequality processor decides what it does. It reads the
// collector's configuration (the processor's section), runs the processor's own engine over
// telemetry captured with the file exporter (OTLP JSON), in order, as the collector would, and
// prints for each distinct resource the rule that matched and its identity, derived values,
// links followed, the id, type and name, every attribute pooled in with its source, and every
// one refused with the reason; then a summary. The explanations come from the engine.
//
//	explain --config collector.yaml [--processor resourceequality/x] [--partition tenant] [--json] capture.json...
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/resourceequality/resourceequality/go-processor/internal/engine"
	"github.com/resourceequality/resourceequality/go-processor/resourceequalityprocessor"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command; it returns the exit code: 0, 1 for a failure (one line on stderr),
// 2 for bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("explain", flag.ContinueOnError)
	flags.SetOutput(stderr)
	configPath := flags.String("config", "", "the collector's configuration file (required)")
	processorID := flags.String("processor", "resourceequality", "the processor's id in that configuration")
	partition := flags.String("partition", "", "the tenant the captured data was sent as (partition.metadata or partition.auth)")
	asJSON := flags.Bool("json", false, "print the explanations as JSON")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: explain --config collector.yaml [--processor resourceequality/x] [--partition tenant] [--json] capture.json...")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if *configPath == "" || flags.NArg() == 0 {
		flags.Usage()
		return 2
	}
	if err := explain(*configPath, *processorID, *partition, flags.Args(), *asJSON, stdout); err != nil {
		fmt.Fprintf(stderr, "explain: %v\n", oneLine(err))
		return 1
	}
	return 0
}

func explain(configPath, processorID, partition string, captures []string, asJSON bool, stdout io.Writer) error {
	cfg, err := loadProcessorConfig(configPath, processorID)
	if err != nil {
		return err
	}
	engineConfig, err := resourceequalityprocessor.EngineConfig(cfg)
	if err != nil {
		return fmt.Errorf("%s: processor %q: %w", configPath, processorID, err)
	}
	ex, err := engine.NewExplainer(engineConfig)
	if err != nil {
		return fmt.Errorf("%s: processor %q: %w", configPath, processorID, err)
	}
	defer ex.Close()
	var labels []string
	for _, path := range captures {
		if err := readCapture(path, func(b batch) error {
			labels = append(labels, b.labels...)
			return b.add(ex, partition)
		}); err != nil {
			return err
		}
	}
	report, err := ex.Report()
	if err != nil {
		return err
	}
	if asJSON {
		var out bytes.Buffer
		if err := json.Indent(&out, report, "", "  "); err != nil {
			return err
		}
		out.WriteByte('\n')
		_, err = stdout.Write(out.Bytes())
		return err
	}
	var r explanationReport
	if err := json.Unmarshal(report, &r); err != nil {
		return fmt.Errorf("the engine's report: %w", err)
	}
	return renderTable(stdout, r, labels)
}

// oneLine keeps an error to its first line: explain fails with one clear line.
func oneLine(err error) string {
	msg := err.Error()
	if i := bytes.IndexByte([]byte(msg), '\n'); i >= 0 {
		msg = msg[:i]
	}
	return msg
}
