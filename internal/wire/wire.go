package wire

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/metrics"
	"github.com/ferrydata/ferry/internal/secrets"
	"github.com/ferrydata/ferry/internal/steps"
)

// Wire opens and keeps the dependencies of one process (a Lambda
// container, or a `ferry run`). It is safe for concurrent use.
type Wire struct {
	env      Env
	log      *slog.Logger
	engines  Engines
	notifier func(cfg aws.Config, bus, endpoint string) steps.Notifier
	smClient secrets.Getter // nil: built from the AWS config on first use
	local    bool

	cfgOnce lazy[aws.Config]
	smOnce  lazy[*secrets.Cache]
	caOnce  lazy[string] // the CA bundle file (EnvDBCABundle)
	admin   lazy[*admin.DB]
	source  lazy[ferry.Source]
	target  lazy[ferry.Target]
	store   lazy[ferry.Store]
	notify  lazy[steps.Notifier]
	// The databases jobs run on and the extracts' store (run-job).
	jobSource lazy[ferry.JobDB]
	jobTarget lazy[ferry.JobDB]
	extracts  lazy[ferry.Store]
	mu        sync.Mutex
	closers   map[Role]func() // guarded by mu
}

// Option configures a Wire.
type Option func(*Wire)

// WithEngines gives the Wire the database engines it may open; a main
// passes those its step uses, so that no other driver is linked.
func WithEngines(es ...Engine) Option {
	return func(w *Wire) { w.engines = append(w.engines, es...) }
}

// WithNotifier lets the Wire build the notifier of swap-tables when
// EnvEventBus is set: open is internal/events' Open (Amazon EventBridge).
func WithNotifier[N steps.Notifier](open func(cfg aws.Config, bus, endpoint string) N) Option {
	return func(w *Wire) {
		w.notifier = func(cfg aws.Config, bus, endpoint string) steps.Notifier { return open(cfg, bus, endpoint) }
	}
}

// WithLogger sets the logger handed to the adapters (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(w *Wire) { w.log = l } }

// WithSecretsClient replaces the Secrets Manager client (tests).
func WithSecretsClient(c secrets.Getter) Option { return func(w *Wire) { w.smClient = c } }

// Local is for a run on one machine (`ferry run`): the AWS SDK never asks
// the EC2 metadata endpoint, and an S3-compatible endpoint
// (EnvS3Endpoint) without AWS credentials in the environment gets static
// placeholder credentials.
func Local() Option { return func(w *Wire) { w.local = true } }

// New returns a Wire over env. Nothing is opened until asked for.
func New(env Env, opts ...Option) *Wire {
	w := &Wire{env: env, log: slog.Default(), closers: map[Role]func(){}}
	for _, o := range opts {
		o(w)
	}
	return w
}

// Env is the configuration the Wire was built with.
func (w *Wire) Env() Env { return w.env }

// Deps opens what need names (or reuses what is already open) and returns
// the steps' dependencies. The notifier is opened only when EnvEventBus
// is set.
func (w *Wire) Deps(ctx context.Context, need steps.Need) (steps.Deps, error) {
	d := steps.Deps{Logger: w.log, Budget: w.env.Budget, Compression: w.env.Compression}
	if w.env.Metrics {
		d.Metrics = metrics.New(os.Stdout)
	}
	if need&steps.NeedNotifier != 0 && w.env.EventBus != "" {
		n, err := w.Notifier(ctx)
		if err != nil {
			return steps.Deps{}, err
		}
		d.Notifier = n
	}
	if need&(steps.NeedConfig|steps.NeedLedger) != 0 {
		adm, err := w.Admin(ctx)
		if err != nil {
			return steps.Deps{}, err
		}
		d.Config, d.Ledger = adm, adm
		if w.relogins(Admin) {
			d.Config, d.Ledger = reloginAdmin{w}, reloginAdmin{w}
		}
	}
	var err error
	if need&steps.NeedSource != 0 {
		if d.Source, err = w.Source(ctx); err != nil {
			return steps.Deps{}, err
		}
		if w.relogins(Source) {
			d.Source = reloginSource{w: w, engine: d.Source.Engine()}
		}
	}
	if need&steps.NeedTarget != 0 {
		if d.Target, err = w.Target(ctx); err != nil {
			return steps.Deps{}, err
		}
		if w.relogins(Target) {
			d.Target = reloginTarget{w: w, engine: d.Target.Engine()}
		}
	}
	if need&steps.NeedStore != 0 {
		if d.Store, err = w.Store(ctx); err != nil {
			return steps.Deps{}, err
		}
		d.Bucket = w.bucket()
	}
	if need&steps.NeedJobs != 0 {
		if err := w.jobDeps(ctx, &d); err != nil {
			return steps.Deps{}, err
		}
	}
	return d, nil
}

// Steps is Deps wrapped in steps.New.
func (w *Wire) Steps(ctx context.Context, need steps.Need) (*steps.Steps, error) {
	d, err := w.Deps(ctx, need)
	if err != nil {
		return nil, err
	}
	return steps.New(d), nil
}

// Fail turns a step's (or the wiring's) error into the error the Lambda
// returns. A refused login (any engine's LoginRefused) means the secret
// may have been rotated under a warm container: the cached secrets and
// connections are dropped and the error is made retryable, so the state
// machine's retry logs in with the re-read secret. This happens only for
// databases read from secrets; in a Lambda container invocations never
// overlap, so no step is using the connections being closed. A process
// running steps concurrently (`ferry run`, Local) does not rely on Fail:
// its source and target read from secrets re-login by themselves (see
// reloginSource).
func (w *Wire) Fail(err error) error {
	if err == nil {
		return nil
	}
	if w.engines.LoginRefused(err) && w.usesSecrets() {
		w.log.Warn("wire: a database refused the login; dropping cached secrets and connections so the retry re-reads them")
		w.Reset()
		// Flatten: a ConfigError inside would otherwise win in LambdaError.
		return &ferry.RetryableError{Op: "database login refused (secret rotated? it is re-read on retry)", Err: errors.New(err.Error())}
	}
	return ferry.LambdaError(err)
}

func (w *Wire) usesSecrets() bool {
	for _, r := range []Role{Admin, Source, Target} {
		if dsn, arn := w.env.dsnAndSecret(r); dsn == "" && arn != "" {
			return true
		}
	}
	return false
}

// Reset closes every open database and forgets the cached secrets; the
// next use opens them again. The store is kept.
func (w *Wire) Reset() {
	if c, ok := w.smOnce.peek(); ok {
		for _, r := range []Role{Admin, Source, Target} {
			if _, arn := w.env.dsnAndSecret(r); arn != "" {
				c.Invalidate(arn)
			}
		}
	}
	w.admin.reset(func(db *admin.DB) { db.Close() })
	w.source.reset(func(ferry.Source) { w.closeRole(Source) })
	w.target.reset(func(ferry.Target) { w.closeRole(Target) })
	w.jobSource.reset(func(ferry.JobDB) { w.closeRole(Source + "-jobs") })
	w.jobTarget.reset(func(ferry.JobDB) { w.closeRole(Target + "-jobs") })
}

// idler is an adapter's database that can close its idle connections
// (internal/mysql's and internal/postgres's Source and Target).
type idler interface{ CloseIdle() }

// CloseIdle closes the idle connections of the opened source and target,
// keeping their pools and the cached secrets: a Lambda function holds a
// connection only while an invocation uses it, so a run never holds more
// than its connection budget (steps.Deps.Budget) even with frozen,
// reused execution environments.
func (w *Wire) CloseIdle() {
	if s, ok := w.source.peek(); ok {
		if i, ok := s.(idler); ok {
			i.CloseIdle()
		}
	}
	if t, ok := w.target.peek(); ok {
		if i, ok := t.(idler); ok {
			i.CloseIdle()
		}
	}
}

// Close releases everything (Reset, then nothing is left open).
func (w *Wire) Close() { w.Reset() }

func (w *Wire) closeRole(r Role) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c := w.closers[r]; c != nil {
		c()
		delete(w.closers, r)
	}
}

func (w *Wire) keepCloser(r Role, c func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closers[r] = c
}

// awsConfig is the AWS configuration (loaded once): the default chain, or
// on Local without the EC2 metadata endpoint.
func (w *Wire) awsConfig(ctx context.Context) (aws.Config, error) {
	return w.cfgOnce.get(func() (aws.Config, error) {
		var opts []func(*config.LoadOptions) error
		if w.local {
			opts = append(opts, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
		}
		cfg, err := config.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return aws.Config{}, ferry.Retryable("wire: load AWS config", err)
		}
		return cfg, nil
	})
}

func (w *Wire) secretsCache(ctx context.Context) (*secrets.Cache, error) {
	return w.smOnce.get(func() (*secrets.Cache, error) {
		client := w.smClient
		if client == nil {
			cfg, err := w.awsConfig(ctx)
			if err != nil {
				return nil, err
			}
			client = secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
				if w.env.SecretsEndpoint != "" {
					o.BaseEndpoint = aws.String(w.env.SecretsEndpoint)
				}
			})
		}
		return secrets.New(client, w.env.SecretTTL), nil
	})
}

// Notifier returns the notifier of "Ferry Tables Swapped" on EnvEventBus.
func (w *Wire) Notifier(ctx context.Context) (steps.Notifier, error) {
	return w.notify.get(func() (steps.Notifier, error) {
		if w.notifier == nil {
			return nil, &ferry.ConfigError{Msg: EnvEventBus + " is set but this function was built without EventBridge",
				Fix: "pass wire.WithNotifier(events.Open) to wire.Handler in the function's main, or unset " + EnvEventBus}
		}
		cfg, err := w.awsConfig(ctx)
		if err != nil {
			return nil, err
		}
		return w.notifier(cfg, w.env.EventBus, w.env.EventsEndpoint), nil
	})
}

// lazy is a value opened once on success; a failed open is retried by the
// next get.
type lazy[T any] struct {
	mu  sync.Mutex
	v   T
	ok  bool
	gen uint64 // counts opens, so a caller can reset only what it used
}

func (l *lazy[T]) get(open func() (T, error)) (T, error) {
	v, _, err := l.getGen(open)
	return v, err
}

// getGen is get, also returning the generation of the value.
func (l *lazy[T]) getGen(open func() (T, error)) (T, uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ok {
		return l.v, l.gen, nil
	}
	v, err := open()
	if err != nil {
		var zero T
		return zero, 0, err
	}
	l.gen++
	l.v, l.ok = v, true
	return v, l.gen, nil
}

// resetGen is reset, only while the value is still generation gen. The
// check and the reset hold the lock together: two calls that saw the same
// refused login must not close the pool the first one's retry reopened.
func (l *lazy[T]) resetGen(gen uint64, closeFn func(T)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.ok || l.gen != gen {
		return
	}
	if closeFn != nil {
		closeFn(l.v)
	}
	var zero T
	l.v, l.ok = zero, false
}

// current is the generation of the value, and whether there is one.
func (l *lazy[T]) current() (uint64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen, l.ok
}

func (l *lazy[T]) peek() (T, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.v, l.ok
}

func (l *lazy[T]) reset(closeFn func(T)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ok && closeFn != nil {
		closeFn(l.v)
	}
	var zero T
	l.v, l.ok = zero, false
}
