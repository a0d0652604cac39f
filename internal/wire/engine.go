package wire

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
)

// Engine is one database adapter as the wiring sees it; internal/mysql's
// and internal/postgres's Engine implement it (and the roles below that
// they can play). Everything engine-specific the wiring needs goes
// through these methods.
type Engine interface {
	Name() ferry.Engine
	// Schemes are the URL schemes naming the engine ("mysql", "mariadb").
	Schemes() []string
	// FromURL turns a URL of one of Schemes (parsed, with a host) into
	// the driver's connection string and a redacted form. Its errors
	// never hold the password.
	FromURL(u *url.URL) (driver, safe string, err error)
	// CredentialsDSN is the driver's connection string for a secret's
	// credentials; tls is the engine's TLS setting ("" for its default).
	CredentialsDSN(c ferry.Credentials, tls string) string
	// LoginRefused reports a refused login, also flattened into a
	// message: the secret may have been rotated.
	LoginRefused(err error) bool
}

// NativeEngine is an engine that also takes its driver's own connection
// string, without a scheme (MySQL: a go-sql-driver DSN).
type NativeEngine interface {
	Engine
	FromNative(raw string) (driver, safe string, err error)
}

// SourceEngine is an engine that can be the source database.
type SourceEngine interface {
	Engine
	OpenSource(ctx context.Context, dsn string, log *slog.Logger) (ferry.Source, func(), error)
}

// TargetEngine is an engine that can be a target database.
type TargetEngine interface {
	Engine
	OpenTarget(ctx context.Context, dsn string, log *slog.Logger) (ferry.Target, func(), error)
}

// AdminEngine is an engine that can hold the admin database.
type AdminEngine interface {
	Engine
	OpenAdmin(ctx context.Context, dsn string, log *slog.Logger) (*admin.DB, error)
}

// DSN is a database address resolved by an engine. It prints redacted.
type DSN struct {
	Engine ferry.Engine
	// Driver is what the engine's driver takes. It contains the
	// password: never log it.
	Driver string
	// Safe is the address without the password, for logs and errors.
	Safe string
}

// String is the redacted form.
func (d DSN) String() string { return d.Safe }

// Engines are the engines a binary links.
type Engines []Engine

// ByName returns the engine called name, or nil.
func (es Engines) ByName(name ferry.Engine) Engine {
	for _, e := range es {
		if e.Name() == name {
			return e
		}
	}
	return nil
}

// ParseURL turns a database address into a DSN with the engine its
// scheme names; an address without a scheme is given to each NativeEngine
// in turn (a go-sql-driver DSN, for MySQL). Errors never hold the URL or
// the password.
func (es Engines) ParseURL(raw string) (DSN, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return DSN{}, errors.New("wire: empty database URL (fix: set e.g. mysql://user:password@host:3306/db)")
	}
	scheme, _, hasScheme := strings.Cut(raw, "://")
	if !hasScheme {
		for _, e := range es {
			if n, ok := e.(NativeEngine); ok {
				if driver, safe, err := n.FromNative(raw); err == nil {
					return DSN{Engine: e.Name(), Driver: driver, Safe: safe}, nil
				}
			}
		}
		return DSN{}, fmt.Errorf("wire: database address is neither a URL (%s) nor a connection string of %s", es.schemes(), es.names())
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole URL, password included: do not wrap.
		return DSN{}, fmt.Errorf("wire: malformed %s:// URL (fix: percent-encode special characters in the user and password, e.g. @ as %%40)", strings.ToLower(scheme))
	}
	if u.Host == "" {
		return DSN{}, fmt.Errorf("wire: %s:// URL has no host", u.Scheme)
	}
	for _, e := range es {
		for _, s := range e.Schemes() {
			if strings.EqualFold(s, u.Scheme) {
				driver, safe, err := e.FromURL(u)
				if err != nil {
					return DSN{}, err
				}
				return DSN{Engine: e.Name(), Driver: driver, Safe: safe}, nil
			}
		}
	}
	return DSN{}, fmt.Errorf("wire: database URL scheme %q is not supported (want %s)", strings.ToLower(u.Scheme), es.schemes())
}

func (es Engines) schemes() string {
	var out []string
	for _, e := range es {
		out = append(out, e.Schemes()[0]+"://")
	}
	return strings.Join(out, " or ")
}

func (es Engines) names() string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name().Title())
	}
	return strings.Join(out, " or ")
}

// UnsupportedError refuses a database whose engine cannot play its role
// in this binary: the engine is not linked (the main did not pass it), or
// it cannot be that database at all.
type UnsupportedError struct {
	Role   Role
	Engine ferry.Engine
	// Linked is false when the binary lacks the engine altogether.
	Linked bool
	// Can are the linked engines that can play Role.
	Can []ferry.Engine
}

func (e *UnsupportedError) Error() string {
	if !e.Linked {
		return fmt.Sprintf("this binary was built without the %s engine, which the %s database uses (fix: pass %s.Engine{} to wire.WithEngines in the function's main)", e.Engine, e.Role, e.Engine)
	}
	return fmt.Sprintf("the %s database is %s; it must be %s", e.Role, e.Engine, e.Supported())
}

// Supported names the engines that can play Role ("MySQL or PostgreSQL").
func (e *UnsupportedError) Supported() string {
	can := make([]string, len(e.Can))
	for i, c := range e.Can {
		can[i] = c.Title()
	}
	return strings.Join(can, " or ")
}

// engineFor returns d's engine as a T, or an *UnsupportedError.
func engineFor[T Engine](es Engines, r Role, d DSN) (T, error) {
	var zero T
	e := es.ByName(d.Engine)
	if t, ok := e.(T); ok {
		return t, nil
	}
	ue := &UnsupportedError{Role: r, Engine: d.Engine, Linked: e != nil}
	for _, e := range es {
		if _, ok := e.(T); ok {
			ue.Can = append(ue.Can, e.Name())
		}
	}
	return zero, ue
}

// OpenSource opens the source database at d.
func (es Engines) OpenSource(ctx context.Context, d DSN, log *slog.Logger) (ferry.Source, func(), error) {
	e, err := engineFor[SourceEngine](es, Source, d)
	if err != nil {
		return nil, nil, err
	}
	return e.OpenSource(ctx, d.Driver, log)
}

// OpenTarget opens a target database at d.
func (es Engines) OpenTarget(ctx context.Context, d DSN, log *slog.Logger) (ferry.Target, func(), error) {
	e, err := engineFor[TargetEngine](es, Target, d)
	if err != nil {
		return nil, nil, err
	}
	return e.OpenTarget(ctx, d.Driver, log)
}

// OpenAdmin opens the admin database at d (not migrated).
func (es Engines) OpenAdmin(ctx context.Context, d DSN, log *slog.Logger) (*admin.DB, error) {
	e, err := engineFor[AdminEngine](es, Admin, d)
	if err != nil {
		return nil, err
	}
	return e.OpenAdmin(ctx, d.Driver, log)
}

// LoginRefused reports whether any engine sees a refused login in err.
func (es Engines) LoginRefused(err error) bool {
	for _, e := range es {
		if e.LoginRefused(err) {
			return true
		}
	}
	return false
}

// cutScheme splits "scheme://rest".
func cutScheme(raw string) (scheme, rest string, ok bool) {
	return strings.Cut(strings.TrimSpace(raw), "://")
}
