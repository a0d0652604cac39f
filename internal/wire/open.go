package wire

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/smithy-go"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/localstore"
	"github.com/ferrydata/ferry/internal/s3store"
	"github.com/ferrydata/ferry/internal/secrets"
)

// Admin returns the admin database, migrated on first use unless
// EnvAdminMigrate is "false".
func (w *Wire) Admin(ctx context.Context) (*admin.DB, error) {
	db, _, err := w.adminGen(ctx)
	return db, err
}

// adminGen is Admin with the generation of its pool (lazy.getGen).
func (w *Wire) adminGen(ctx context.Context) (*admin.DB, uint64, error) {
	return w.admin.getGen(func() (*admin.DB, error) {
		db, _, err := open(ctx, w, Admin, func(ctx context.Context, d DSN) (*admin.DB, func(), error) {
			db, err := w.engines.OpenAdmin(ctx, d, w.log)
			return db, nil, err
		})
		if err != nil {
			return nil, err
		}
		if w.env.MigrateAdmin {
			if _, err := db.Migrate(ctx); err != nil {
				db.Close()
				return nil, fmt.Errorf("wire: migrate the admin database: %w", err)
			}
		}
		return db, nil
	})
}

// Source returns the production database: MySQL or PostgreSQL, as its
// URL's scheme or its secret's engine (else EnvSourceEngine) says.
func (w *Wire) Source(ctx context.Context) (ferry.Source, error) {
	s, _, err := w.sourceGen(ctx)
	return s, err
}

// sourceGen is Source with the generation of its pool (lazy.getGen).
func (w *Wire) sourceGen(ctx context.Context) (ferry.Source, uint64, error) {
	return w.source.getGen(func() (ferry.Source, error) {
		s, done, err := open(ctx, w, Source, func(ctx context.Context, d DSN) (ferry.Source, func(), error) {
			return w.engines.OpenSource(ctx, d, w.log)
		})
		if err != nil {
			return nil, err
		}
		w.keepCloser(Source, done)
		return s, nil
	})
}

// Target returns the reporting database.
func (w *Wire) Target(ctx context.Context) (ferry.Target, error) {
	t, _, err := w.targetGen(ctx)
	return t, err
}

// targetGen is Target with the generation of its pool (lazy.getGen).
func (w *Wire) targetGen(ctx context.Context) (ferry.Target, uint64, error) {
	return w.target.getGen(func() (ferry.Target, error) {
		t, done, err := open(ctx, w, Target, func(ctx context.Context, d DSN) (ferry.Target, func(), error) {
			t, done, err := w.engines.OpenTarget(ctx, d, w.log)
			if s, ok := t.(interface{ SetSwapLockTimeout(time.Duration) }); ok && err == nil && w.env.SwapLockTimeout > 0 {
				s.SetSwapLockTimeout(w.env.SwapLockTimeout)
			}
			return t, done, err
		})
		if err != nil {
			return nil, err
		}
		w.keepCloser(Target, done)
		return t, nil
	})
}

// open opens role's database with openDSN: from its URL (Role.DSNVar)
// when set, else from its secret (Role.SecretVar), where a refused login
// re-reads the secret once (rotation). An engine that contradicts the
// role's engine variable (Role.EngineVar) is refused. Configuration
// problems are *ferry.ConfigError naming the variable; Secrets Manager
// outages are retryable; database errors are the adapters'.
func open[T any](ctx context.Context, w *Wire, role Role, openDSN func(context.Context, DSN) (T, func(), error)) (T, func(), error) {
	var zero T
	openDSN = checkEngine(w.env, role, openDSN)
	raw, arn := w.env.dsnAndSecret(role)
	if raw != "" {
		d, err := w.engines.parse(role, raw)
		if err != nil {
			return zero, nil, &ferry.ConfigError{Msg: role.DSNVar() + ": " + err.Error(), Fix: "set " + role.DSNVar() + " to e.g. mysql://user:password@host:3306/db or postgres://user:password@host:5432/db"}
		}
		return wrapOpen(role, openDSN)(ctx, d)
	}
	if arn == "" {
		return zero, nil, &ferry.ConfigError{Msg: fmt.Sprintf("the %s database is not configured", role),
			Fix: fmt.Sprintf("set %s (on AWS the template does) or %s", role.SecretVar(), role.DSNVar())}
	}
	cache, err := w.secretsCache(ctx)
	if err != nil {
		return zero, nil, err
	}
	type opened struct {
		v    T
		done func()
	}
	o, err := secrets.Open(ctx, cache, arn, w.engines.LoginRefused, func(ctx context.Context, c secrets.Credentials) (opened, error) {
		host, _, _ := role.AddrVars()
		c, err := secrets.Complete(c, w.env.address(role), host)
		if err != nil {
			return opened{}, err
		}
		e := w.engines.ByName(c.Engine)
		if e == nil {
			ue := &UnsupportedError{Role: role, Engine: c.Engine}
			return opened{}, &ferry.ConfigError{Msg: ue.Error(), Fix: "link the engine, or point " + role.SecretVar() + " at another database"}
		}
		tls, err := w.tls(ctx, c.Engine)
		if err != nil {
			return opened{}, err
		}
		v, done, err := wrapOpen(role, openDSN)(ctx, DSN{Engine: c.Engine, Driver: e.CredentialsDSN(c, tls), Safe: c.String()})
		return opened{v, done}, err
	})
	if err != nil {
		return zero, nil, fmt.Errorf("wire: %s database: %w", role, classifySecretErr(err))
	}
	return o.v, o.done, nil
}

// checkEngine refuses, before openDSN runs, a database whose engine
// contradicts the one the environment names for role (Env.Engine).
func checkEngine[T any](env Env, role Role, openDSN func(context.Context, DSN) (T, func(), error)) func(context.Context, DSN) (T, func(), error) {
	want := env.Engine(role)
	if want == "" {
		return openDSN
	}
	return func(ctx context.Context, d DSN) (T, func(), error) {
		if d.Engine != want {
			var zero T
			param := strings.ToUpper(string(role[:1])) + string(role[1:]) + "Engine"
			return zero, nil, &ferry.ConfigError{
				Msg: fmt.Sprintf("%s is %s but the %s database is %s", role.EngineVar(), want, role, d.Engine),
				Fix: fmt.Sprintf("make %s match the %s secret's engine (or the %s scheme)", param, role, role.DSNVar()),
			}
		}
		return openDSN(ctx, d)
	}
}

// wrapOpen types an engine that cannot play role as a *ferry.ConfigError.
func wrapOpen[T any](role Role, openDSN func(context.Context, DSN) (T, func(), error)) func(context.Context, DSN) (T, func(), error) {
	return func(ctx context.Context, d DSN) (T, func(), error) {
		v, done, err := openDSN(ctx, d)
		var ue *UnsupportedError
		if errors.As(err, &ue) {
			return v, nil, &ferry.ConfigError{Msg: ue.Error(), Fix: "point " + role.DSNVar() + " or " + role.SecretVar() + " at a database of an engine listed"}
		}
		if err != nil {
			return v, nil, fmt.Errorf("wire: %s database: %w", role, err)
		}
		if done == nil {
			done = func() {}
		}
		return v, done, nil
	}
}

// parse is ParseURL, saying so when the URL names an engine this binary
// was built without.
func (es Engines) parse(role Role, raw string) (DSN, error) {
	d, err := es.ParseURL(raw)
	if err == nil {
		return d, nil
	}
	if scheme, _, ok := cutScheme(raw); ok {
		if eng, perr := ferry.ParseEngine(scheme); perr == nil && es.ByName(eng) == nil {
			return DSN{}, &UnsupportedError{Role: role, Engine: eng}
		}
	}
	return DSN{}, err
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
		return &ferry.ConfigError{Msg: err.Error(), Fix: `store the secret as RDS JSON {"engine","host","port","username","password","dbname"}, or, for a secret RDS manages (username and password only), set the template's Host/Port/Database parameters`}
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

// Store returns the object store: EnvStore, else the EnvBucket bucket.
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
			return nil, &ferry.ConfigError{Msg: "no object store is configured", Fix: "set " + EnvBucket + " (on AWS the template does) or " + EnvStore + "=file:///dir or s3://bucket"}
		}
		client, err := s3store.NewClient(ctx, w.s3Config())
		if err != nil {
			return nil, fmt.Errorf("wire: store: %w", err)
		}
		return s3store.New(client, where), nil
	})
}

// s3Config is the S3 client's configuration: the endpoint, and on Local
// with an S3-compatible server and no AWS credentials, static placeholder
// ones (never the default chain's network lookups).
func (w *Wire) s3Config() s3store.Config {
	cfg := s3store.Config{Endpoint: w.env.S3Endpoint, PathStyle: w.env.S3Endpoint != "", DisableIMDS: w.local}
	if w.local && w.env.S3Endpoint != "" && !w.env.AWSCredentials {
		cfg.AccessKey, cfg.SecretKey = "ferry-local", "ferry-local"
	}
	return cfg
}

// bucket is the store's bucket, for ListTablesOutput ("" for a directory).
func (w *Wire) bucket() string {
	if k, where, _ := parseStore(w.env.Store); k == "s3" {
		return where
	} else if w.env.Store == "" {
		return w.env.Bucket
	}
	return ""
}
