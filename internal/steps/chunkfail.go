package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferrydata/ferry"
)

// chunkFailure is the note at ferry.FailedKey: why a chunk's last export
// or load attempt failed.
type chunkFailure struct {
	Step    string    `json:"step"`
	Error   string    `json:"error"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// noteChunkFailure leaves, best effort, what made a chunk's step fail at
// ferry.FailedKey, so that finish-run can say why a chunk was never
// loaded. out is the error the step returns (ferry.LambdaError: no row
// values, no database detail lines); a cancelled invocation leaves none.
// A note of an attempt that a retry
// then overcame is never read: finish-run reads notes of unloaded chunks
// only.
func (s *Steps) noteChunkFailure(ctx context.Context, t ferry.ChunkTask, step string, out error) {
	if s.d.Store == nil || out == nil || t.RunID == "" || t.Alias == "" || t.Table == "" {
		return
	}
	// A cancelled invocation (its map stopping after another chunk failed)
	// is not why the chunk was not loaded: that chunk's note says why.
	if errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	typ := strings.TrimPrefix(fmt.Sprintf("%T", out), "*ferry.")
	f := chunkFailure{Step: step, Error: typ, Message: clip(out.Error(), 2000), At: s.now()}
	if err := putJSON(ctx, s.d.Store, ferry.FailedKey(t.RunID, t.Alias, t.Table, t.Chunk.Index), f); err != nil {
		s.chunkLog(t, step).WarnContext(ctx, "cannot leave the chunk's failure note", "error", err.Error())
	}
}

// chunkFailureLine is "; <chunk>: <step> failed: <type>: <message>" from
// the chunk's note at key, or "" when it cannot be read.
func (s *Steps) chunkFailureLine(ctx context.Context, chunk, key string) string {
	var f chunkFailure
	if err := getJSON(ctx, s.d.Store, key, &f); err != nil || f.Step == "" {
		return ""
	}
	return fmt.Sprintf("; %s: %s failed: %s: %s", chunk, f.Step, f.Error, clip(f.Message, 500))
}
