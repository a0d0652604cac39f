package scaletest

import (
	"context"
	"io"
	"os"
	"strconv"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/statemachine"
)

// definition is the deployed definition, placeholders unfilled.
func definition(t *testing.T) []byte {
	t.Helper()
	if p := os.Getenv("FERRY_SCALE_DEFINITION"); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return statemachineDefinition
}

func put(ctx context.Context, st ferry.Store, key string, body []byte) error {
	w, err := st.Create(ctx, key)
	if err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		w.Abort()
		return err
	}
	return w.Commit()
}

func get(ctx context.Context, st ferry.Store, key string) ([]byte, error) {
	rc, err := st.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

var statemachineDefinition = statemachine.Definition

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
		return v
	}
	return def
}
