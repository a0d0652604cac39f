package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
)

// Concurrent invocations must each get their own response, although an
// aws-lambda-go handler hands back a pooled buffer (see LambdaHandler).
func TestLambdaConcurrentInvocationsKeepTheirOutput(t *testing.T) {
	type in struct {
		N   int    `json:"n"`
		Pad string `json:"pad"`
	}
	echo := func(ctx context.Context, v in) (in, error) { return v, nil }
	tests := []struct {
		name string
		task TaskHandler
	}{
		{"LambdaHandler", LambdaHandler(lambda.NewHandler(echo))},
		{"LambdaFunction", LambdaFunction(echo)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; i < 200; i++ {
						n := g*1000 + i
						want := in{N: n, Pad: strings.Repeat(fmt.Sprint(n%10), 2000+n%500)}
						b, _ := json.Marshal(want)
						out, err := tt.task(context.Background(), b)
						if err != nil {
							errs <- err
							return
						}
						var got in
						if err := json.Unmarshal(out, &got); err != nil || got != want {
							errs <- fmt.Errorf("call %d: got %.60q (err %v)", n, out, err)
							return
						}
					}
				}(g)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
		})
	}
}
