package awswire

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/ferrydata/ferry/internal/events"
	"github.com/ferrydata/ferry/internal/metrics"
	"log/slog"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/localstore"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/s3store"
	"github.com/ferrydata/ferry/internal/secrets"
	"github.com/ferrydata/ferry/internal/steps"
)

// Need says which dependencies a step uses; only those are opened.
type Need uint8

const (
	NeedAdmin Need = 1 << iota
	NeedSource
	NeedTarget
	NeedStore
	// NeedEvents is the EventBridge publisher, when FERRY_EVENT_BUS is set.
	NeedEvents
)

// What each Lambda function needs (internal/steps.Deps documents the steps').
const (
	ForListTables  = NeedAdmin | NeedSource | NeedTarget | NeedStore
	ForExportChunk = NeedSource | NeedStore
	ForLoadChunk   = NeedTarget | NeedStore
	ForSwapTables  = NeedAdmin | NeedTarget | NeedStore | NeedEvents
)

// Wire opens and keeps the dependencies of one process (a Lambda
// container, or a `ferry run`). It is safe for concurrent use.
type Wire struct {
	env Env
	log *slog.Logger

	smClient secrets.Getter // nil: built from the AWS config on first use

	cfgOnce lazy[aws.Config]
	smOnce  lazy[*secrets.Cache]
	admin   lazy[*admin.DB]
	source  lazy[*mysql.Source]
	srcDB   *sql.DB
	target  lazy[ferry.Target]
	tgtDone func()
	store   lazy[ferry.Store]
	events  lazy[*events.Publisher]
	mu      sync.Mutex // guards srcDB and tgtDone

	// targets opens a target adapter by engine; publisher builds the
	// EventBridge publisher. What is not wired here is not linked into a
	// Lambda binary whose main does not pass the option (see Handler).
	targets   map[ferry.Engine]TargetOpener
	publisher func(cfg aws.Config, env Env) *events.Publisher
}

// TargetOpener opens the target adapter of one engine from a driver DSN
// (a go-sql-driver DSN for MySQL, a postgres:// URL for PostgreSQL) and
// returns it with the function that closes it.
type TargetOpener func(ctx context.Context, dsn string, log *slog.Logger) (ferry.Target, func(), error)

// WithPostgres lets the Wire open PostgreSQL targets (MySQL targets are
// always available). Pass it from the mains whose step uses the target.
func WithPostgres() Option {
	return func(w *Wire) { w.targets[ferry.EnginePostgres] = openPostgres }
}

// WithEventBridge lets the Wire publish "Ferry Tables Swapped" to
// FERRY_EVENT_BUS through Amazon EventBridge. Pass it from swap-tables' main.
func WithEventBridge() Option {
	return func(w *Wire) { w.publisher = eventBridgePublisher }
}

func openMySQLTarget(ctx context.Context, dsn string, log *slog.Logger) (ferry.Target, func(), error) {
	db, err := mysql.Open(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	return mysql.NewTarget(db, mysql.WithLogger(log)), func() { db.Close() }, nil
}

func openPostgres(ctx context.Context, dsn string, log *slog.Logger) (ferry.Target, func(), error) {
	t, err := postgres.Open(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	t.Logger = log
	return t, t.Close, nil
}

func eventBridgePublisher(cfg aws.Config, env Env) *events.Publisher {
	return events.New(eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) {
		if env.EventsEndpoint != "" {
			o.BaseEndpoint = aws.String(env.EventsEndpoint)
		}
	}), env.EventBus)
}

// Option configures a Wire.
type Option func(*Wire)

// WithLogger sets the logger handed to the adapters (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(w *Wire) { w.log = l } }

// WithSecretsClient replaces the Secrets Manager client (tests).
func WithSecretsClient(c secrets.Getter) Option { return func(w *Wire) { w.smClient = c } }

// New returns a Wire over env that can open every adapter (MySQL and
// PostgreSQL targets, EventBridge), for `ferry run` and tests. Nothing is
// opened until asked for.
func New(env Env, opts ...Option) *Wire {
	return newWire(env, append([]Option{WithPostgres(), WithEventBridge()}, opts...)...)
}

// newWire returns a Wire with only the MySQL target and what opts add.
func newWire(env Env, opts ...Option) *Wire {
	w := &Wire{env: env, log: slog.Default(), targets: map[ferry.Engine]TargetOpener{ferry.EngineMySQL: openMySQLTarget}}
	for _, o := range opts {
		o(w)
	}
	return w
}

// Env is the configuration the Wire was built with.
func (w *Wire) Env() Env { return w.env }

// Deps opens what need names (or reuses what is already open) and returns
// the steps' dependencies.
func (w *Wire) Deps(ctx context.Context, need Need) (steps.Deps, error) {
	d := steps.Deps{Logger: w.log}
	if w.env.Metrics {
		d.Metrics = metrics.New(os.Stdout)
	}
	var err error
	if need&NeedEvents != 0 && w.env.EventBus != "" {
		if d.Notifier, err = w.Events(ctx); err != nil {
			return steps.Deps{}, err
		}
	}
	if need&NeedAdmin != 0 {
		adm, err := w.Admin(ctx)
		if err != nil {
			return steps.Deps{}, err
		}
		d.Config, d.Ledger = adm, adm
	}
	if need&NeedSource != 0 {
		if d.Source, err = w.Source(ctx); err != nil {
			return steps.Deps{}, err
		}
	}
	if need&NeedTarget != 0 {
		if d.Target, err = w.Target(ctx); err != nil {
			return steps.Deps{}, err
		}
	}
	if need&NeedStore != 0 {
		if d.Store, err = w.Store(ctx); err != nil {
			return steps.Deps{}, err
		}
		if k, where, _ := parseStore(w.env.Store); k == "s3" {
			d.Bucket = where
		} else if w.env.Store == "" {
			d.Bucket = w.env.Bucket
		}
	}
	return d, nil
}

// Steps is Deps wrapped in steps.New.
func (w *Wire) Steps(ctx context.Context, need Need) (*steps.Steps, error) {
	d, err := w.Deps(ctx, need)
	if err != nil {
		return nil, err
	}
	return steps.New(d), nil
}

// Fail turns a step's (or the wiring's) error into the error the Lambda
// returns. A refused login means the secret may have been rotated under a
// warm container: the cached secrets and connections are dropped and the
// error is made retryable, so the state machine's retry logs in with the
// re-read secret. This happens only for databases read from secrets; in a
// Lambda container invocations never overlap, so no step is using the
// connections being closed (a process running steps concurrently, like
// `ferry run`, uses DSNs, for which Fail only types the error).
func (w *Wire) Fail(err error) error {
	if err == nil {
		return nil
	}
	if secrets.IsAuthError(err) && w.usesSecrets() {
		w.log.Warn("awswire: a database refused the login; dropping cached secrets and connections so the retry re-reads them")
		w.Reset()
		// Flatten: a ConfigError inside would otherwise win in LambdaError.
		return &ferry.RetryableError{Op: "database login refused (secret rotated? it is re-read on retry)", Err: errors.New(err.Error())}
	}
	return ferry.LambdaError(err)
}

func (w *Wire) usesSecrets() bool {
	e := w.env
	return e.AdminDSN == "" && e.AdminSecretARN != "" ||
		e.SourceDSN == "" && e.SourceSecretARN != "" ||
		e.TargetDSN == "" && e.TargetSecretARN != ""
}

// Reset closes every open database and forgets the cached secrets; the
// next use opens them again. The store is kept.
func (w *Wire) Reset() {
	if c, ok := w.smOnce.peek(); ok {
		for _, arn := range []string{w.env.AdminSecretARN, w.env.SourceSecretARN, w.env.TargetSecretARN} {
			if arn != "" {
				c.Invalidate(arn)
			}
		}
	}
	w.admin.reset(func(db *admin.DB) { db.Close() })
	w.source.reset(func(*mysql.Source) {
		w.mu.Lock()
		if w.srcDB != nil {
			w.srcDB.Close()
			w.srcDB = nil
		}
		w.mu.Unlock()
	})
	w.target.reset(func(ferry.Target) {
		w.mu.Lock()
		if w.tgtDone != nil {
			w.tgtDone()
			w.tgtDone = nil
		}
		w.mu.Unlock()
	})
}

// Close releases everything (Reset, then nothing is left open).
func (w *Wire) Close() { w.Reset() }

// Admin returns the admin database, migrated on first use unless
// FERRY_ADMIN_MIGRATE=false.
func (w *Wire) Admin(ctx context.Context) (*admin.DB, error) {
	return w.admin.get(func() (*admin.DB, error) {
		sqldb, err := w.openMySQL(ctx, "admin", w.env.AdminDSN, w.env.AdminSecretARN, "FERRY_ADMIN")
		if err != nil {
			return nil, err
		}
		db := mysql.NewAdmin(sqldb)
		if w.env.MigrateAdmin {
			if _, err := db.Migrate(ctx); err != nil {
				db.Close()
				return nil, fmt.Errorf("awswire: migrate the admin database: %w", err)
			}
		}
		return db, nil
	})
}

// Source returns the production MySQL.
func (w *Wire) Source(ctx context.Context) (ferry.Source, error) {
	s, err := w.source.get(func() (*mysql.Source, error) {
		db, err := w.openMySQL(ctx, "source", w.env.SourceDSN, w.env.SourceSecretARN, "FERRY_SOURCE")
		if err != nil {
			return nil, err
		}
		w.mu.Lock()
		w.srcDB = db
		w.mu.Unlock()
		return mysql.NewSource(db, mysql.WithLogger(w.log)), nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Target returns the reporting database, MySQL or PostgreSQL. With a
// secret, a refused login re-reads the secret once (rotation).
func (w *Wire) Target(ctx context.Context) (ferry.Target, error) {
	return w.target.get(func() (ferry.Target, error) {
		switch {
		case w.env.TargetDSN != "":
			d, err := ParseURL(w.env.TargetDSN)
			if err != nil {
				return nil, &ferry.ConfigError{Msg: "FERRY_TARGET_DSN: " + err.Error()}
			}
			return w.openTarget(ctx, d.Engine, d.Driver)
		case w.env.TargetSecretARN != "":
			cache, err := w.secretsCache(ctx)
			if err != nil {
				return nil, err
			}
			t, err := secrets.Open(ctx, cache, w.env.TargetSecretARN, func(ctx context.Context, c secrets.Credentials) (ferry.Target, error) {
				eng := ferry.Engine(c.Engine)
				if eng == ferry.EnginePostgres {
					return w.openTarget(ctx, eng, secrets.PostgresURL(c, w.env.PostgresSSLMode))
				}
				return w.openTarget(ctx, eng, secrets.MySQLDSN(c, w.env.MySQLTLS))
			})
			if err != nil {
				return nil, classifySecretErr(err)
			}
			return t, nil
		default:
			return nil, notConfigured("target", "FERRY_TARGET")
		}
	})
}

// openTarget opens the target adapter of eng, refusing an engine that
// contradicts FERRY_TARGET_ENGINE.
func (w *Wire) openTarget(ctx context.Context, eng ferry.Engine, dsn string) (ferry.Target, error) {
	if want := w.env.TargetEngine; want != "" && want != eng {
		return nil, &ferry.ConfigError{
			Msg: fmt.Sprintf("FERRY_TARGET_ENGINE is %s but the target database is %s", want, eng),
			Fix: "make TargetEngine match the target secret's engine (or the FERRY_TARGET_DSN scheme)",
		}
	}
	open, ok := w.targets[eng]
	if !ok {
		if eng == ferry.EngineMySQL || eng == ferry.EnginePostgres {
			return nil, &ferry.ConfigError{Msg: fmt.Sprintf("this function was built without the %s target", eng),
				Fix: "pass awswire.WithPostgres() to awswire.Handler in the function's main"}
		}
		return nil, &ferry.ConfigError{Msg: fmt.Sprintf("target engine %q is not supported", eng), Fix: "use mysql or postgres"}
	}
	t, done, err := open(ctx, dsn, w.log)
	if err != nil {
		return nil, fmt.Errorf("awswire: target: %w", err)
	}
	w.mu.Lock()
	w.tgtDone = done
	w.mu.Unlock()
	return t, nil
}

// openMySQL opens the admin or source database from a DSN URL or a secret.
// A refused login with a cached secret re-reads the secret once.
func (w *Wire) openMySQL(ctx context.Context, what, dsnURL, arn, envPrefix string) (*sql.DB, error) {
	if dsnURL != "" {
		d, err := ParseURL(dsnURL)
		if err != nil {
			return nil, &ferry.ConfigError{Msg: envPrefix + "_DSN: " + err.Error()}
		}
		if d.Engine != ferry.EngineMySQL {
			return nil, &ferry.ConfigError{Msg: fmt.Sprintf("%s_DSN is %s; the %s database must be MySQL", envPrefix, d.Engine, what), Fix: "use a mysql:// URL"}
		}
		db, err := mysql.Open(ctx, d.Driver)
		if err != nil {
			return nil, fmt.Errorf("awswire: %s: %w", what, err)
		}
		return db, nil
	}
	if arn == "" {
		return nil, notConfigured(what, envPrefix)
	}
	cache, err := w.secretsCache(ctx)
	if err != nil {
		return nil, err
	}
	db, err := secrets.Open(ctx, cache, arn, func(ctx context.Context, c secrets.Credentials) (*sql.DB, error) {
		if c.Engine != string(ferry.EngineMySQL) {
			return nil, &ferry.ConfigError{Msg: fmt.Sprintf("the %s secret %s is for %s; the %s database must be MySQL", what, arn, c.Engine, what)}
		}
		return mysql.Open(ctx, secrets.MySQLDSN(c, w.env.MySQLTLS))
	})
	if err != nil {
		return nil, fmt.Errorf("awswire: %s: %w", what, classifySecretErr(err))
	}
	return db, nil
}

// Events returns the publisher of "Ferry Tables Swapped" on FERRY_EVENT_BUS.
func (w *Wire) Events(ctx context.Context) (*events.Publisher, error) {
	return w.events.get(func() (*events.Publisher, error) {
		if w.publisher == nil {
			return nil, &ferry.ConfigError{Msg: "FERRY_EVENT_BUS is set but this function was built without EventBridge",
				Fix: "pass awswire.WithEventBridge() to awswire.Handler in the function's main, or unset FERRY_EVENT_BUS"}
		}
		cfg, err := w.awsConfig(ctx)
		if err != nil {
			return nil, err
		}
		return w.publisher(cfg, w.env), nil
	})
}

func (w *Wire) awsConfig(ctx context.Context) (aws.Config, error) {
	return w.cfgOnce.get(func() (aws.Config, error) {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return aws.Config{}, ferry.Retryable("awswire: load AWS config", err)
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

// Store returns the object store: FERRY_STORE, else the FERRY_BUCKET bucket.
func (w *Wire) Store(ctx context.Context) (ferry.Store, error) {
	return w.store.get(func() (ferry.Store, error) {
		kind, where := "s3", w.env.Bucket
		if w.env.Store != "" {
			var err error
			if kind, where, err = parseStore(w.env.Store); err != nil {
				return nil, err
			}
		}
		switch {
		case kind == "file":
			return localstore.New(where)
		case where == "":
			return nil, &ferry.ConfigError{Msg: "no object store is configured", Fix: "set FERRY_BUCKET (on AWS the template does) or FERRY_STORE=file:///dir or s3://bucket"}
		}
		client, err := s3store.NewClient(ctx, s3store.Config{Endpoint: w.env.S3Endpoint, PathStyle: w.env.S3Endpoint != ""})
		if err != nil {
			return nil, fmt.Errorf("awswire: store: %w", err)
		}
		return s3store.New(client, where), nil
	})
}

func notConfigured(what, envPrefix string) error {
	return &ferry.ConfigError{
		Msg: fmt.Sprintf("the %s database is not configured", what),
		Fix: fmt.Sprintf("set %s_SECRET_ARN (on AWS the template does) or %s_DSN", envPrefix, envPrefix),
	}
}

// classifySecretErr: a malformed secret, a missing one or a denied read is
// a ConfigError; anything else from Secrets Manager (network, throttling,
// 5xx) is retryable. Errors already typed pass through.
func classifySecretErr(err error) error {
	var (
		ce *ferry.ConfigError
		re *ferry.RetryableError
	)
	if errors.As(err, &ce) || errors.As(err, &re) {
		return err
	}
	if errors.Is(err, secrets.ErrMalformed) {
		return &ferry.ConfigError{Msg: err.Error(), Fix: `store the secret as RDS JSON {"engine","host","port","username","password","dbname"}`}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ResourceNotFoundException", "AccessDeniedException", "AccessDenied", "InvalidParameterException",
			"InvalidRequestException", "DecryptionFailure", "UnrecognizedClientException":
			return &ferry.ConfigError{Msg: err.Error(), Fix: "check the secret ARN parameter and that the function's role may read it (and decrypt it, for a customer-managed KMS key)"}
		}
		return ferry.Retryable("secrets", err)
	}
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		// The SDK gave up reaching Secrets Manager (network, timeouts).
		return ferry.Retryable("secrets", err)
	}
	// A database error: the adapter classified it already.
	return err
}

// lazy is a value opened once on success; a failed open is retried by the
// next get.
type lazy[T any] struct {
	mu sync.Mutex
	v  T
	ok bool
}

func (l *lazy[T]) get(open func() (T, error)) (T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ok {
		return l.v, nil
	}
	v, err := open()
	if err != nil {
		var zero T
		return zero, err
	}
	l.v, l.ok = v, true
	return v, nil
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
