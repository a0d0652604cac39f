// Package maprun reads what a Step Functions Distributed Map exported
// through its ResultWriter ("ResultWriter (Map)" in the Step Functions
// Developer Guide): a manifest.json naming the result files, and the files,
// each a JSON array (or JSON Lines) of child execution records. Ferry's
// Report reads the companies' outcomes this way, so that they never pass
// through the parent execution's payload.
package maprun

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ferrydata/ferry"
)

// Statuses of the result files, as the manifest names them.
const (
	Succeeded = "SUCCEEDED"
	Failed    = "FAILED"
	Pending   = "PENDING"
)

// Manifest is manifest.json: the Map Run and its result files by status.
//
//	{"DestinationBucket": "b", "MapRunArn": "arn:…",
//	 "ResultFiles": {"SUCCEEDED": [{"Key": "…/SUCCEEDED_0.json", "Size": 123}], "FAILED": [], "PENDING": []}}
type Manifest struct {
	DestinationBucket string                  `json:"DestinationBucket"`
	MapRunArn         string                  `json:"MapRunArn"`
	ResultFiles       map[string][]ResultFile `json:"ResultFiles"`
}

// ResultFile is one file of a status (files are split at 5 GB).
type ResultFile struct {
	Key  string `json:"Key"`
	Size int64  `json:"Size"`
}

// Record is one child execution in a result file (transformation NONE, the
// default when exporting): Input and Output are JSON text. A failed,
// timed-out or aborted child has Error and Cause instead of Output.
type Record struct {
	ExecutionArn string `json:"ExecutionArn"`
	Name         string `json:"Name"`
	Status       string `json:"Status"`
	Input        string `json:"Input"`
	Output       string `json:"Output"`
	Error        string `json:"Error"`
	Cause        string `json:"Cause"`
}

// Read opens the manifest at key in store (the ResultWriter's bucket) and
// calls fn for every record of every result file, SUCCEEDED, then FAILED,
// then PENDING, one record at a time: no file is held in memory whole. A
// PENDING record (a child the Map Run never started) gets Status PENDING if
// it has none. The first error (reading, decoding, or fn's) stops it.
func Read(ctx context.Context, store ferry.Store, key string, fn func(status string, r Record) error) error {
	var m Manifest
	if err := readJSON(ctx, store, key, &m); err != nil {
		return fmt.Errorf("maprun: manifest %s: %w", key, err)
	}
	for _, status := range []string{Succeeded, Failed, Pending} {
		for _, f := range m.ResultFiles[status] {
			if err := readFile(ctx, store, f.Key, func(r Record) error {
				if r.Status == "" {
					r.Status = status
				}
				return fn(status, r)
			}); err != nil {
				return fmt.Errorf("maprun: %s results %s: %w", strings.ToLower(status), f.Key, err)
			}
		}
	}
	return nil
}

func readJSON(ctx context.Context, store ferry.Store, key string, v any) error {
	rc, err := store.Open(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	return json.NewDecoder(rc).Decode(v)
}

// readFile streams a result file: a JSON array, or JSON Lines.
func readFile(ctx context.Context, store ferry.Store, key string, fn func(Record) error) error {
	rc, err := store.Open(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	br := bufio.NewReader(rc)
	first, err := peekNonSpace(br)
	if errors.Is(err, io.EOF) {
		return nil
	} else if err != nil {
		return err
	}
	dec := json.NewDecoder(br)
	if first == '[' {
		if _, err := dec.Token(); err != nil {
			return err
		}
	}
	for dec.More() {
		var r Record
		if err := dec.Decode(&r); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return 0, err
		}
		if !bytes.ContainsAny(b, " \t\r\n") {
			return b[0], nil
		}
		if _, err := br.Discard(1); err != nil {
			return 0, err
		}
	}
}
