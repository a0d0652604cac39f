// Package secrets reads database credentials from AWS Secrets Manager.
//
// A secret holds the standard RDS JSON ({"engine","host","port","username",
// "password","dbname"}). Cache keeps each parsed secret for a TTL so a warm
// Lambda container does not call Secrets Manager on every invocation, and
// Invalidate drops one so that a login refused after a rotation re-reads it:
// Open does exactly that, once. Nothing here knows an engine: the adapters
// turn ferry.Credentials into their drivers' connection strings and say
// which errors are a refused login.
//
// No function of this package puts a password in an error or a log line:
// Credentials prints itself redacted, and errors from drivers are scrubbed
// of the password before they are returned.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ferrydata/ferry"
)

// DefaultTTL is how long a secret is trusted before it is read again.
const DefaultTTL = 5 * time.Minute

// ErrMalformed is wrapped by every error about a secret's content (not
// JSON, missing fields, unsupported engine, binary secret): retrying
// cannot help, the secret must be fixed.
var ErrMalformed = errors.New("malformed database secret")

// Credentials is a parsed database secret (ferry.Credentials: it never
// prints its password).
type Credentials = ferry.Credentials

// ParseSecret parses a database secret: the standard RDS secret JSON
// (engine, host, port, username, password, dbname; port a number or a
// string, as the console writes either), or a secret RDS manages for a
// master user (ManageMasterUserPassword), which holds only username and
// password: engine, host, port and dbname may be missing, and Complete
// fills them. username and password are required; a missing port defaults
// from the engine when there is one. The error never contains the
// secret's text.
func ParseSecret(s string) (Credentials, error) {
	var raw struct {
		Engine   string          `json:"engine"`
		Host     string          `json:"host"`
		Port     json.RawMessage `json:"port"`
		Username string          `json:"username"`
		Password string          `json:"password"`
		DBName   string          `json:"dbname"`
	}
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		// json errors quote at most a token type and offset, never the text;
		// still, do not wrap the error to be certain nothing leaks.
		return Credentials{}, errors.New("secret is not the RDS JSON {engine, host, port, username, password, dbname}")
	}
	c := Credentials{Host: raw.Host, Username: raw.Username, Password: raw.Password, DBName: raw.DBName}
	if raw.Engine != "" {
		eng, err := ferry.ParseEngine(raw.Engine)
		if err != nil {
			return Credentials{}, fmt.Errorf("secret %w", err)
		}
		c.Engine, c.Port = eng, eng.DefaultPort()
	}
	if p := strings.Trim(string(raw.Port), `" `); p != "" && p != "null" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return Credentials{}, fmt.Errorf("secret port %q is not a TCP port", p)
		}
		c.Port = n
	}
	var missing []string
	if c.Username == "" {
		missing = append(missing, "username")
	}
	if c.Password == "" {
		missing = append(missing, "password")
	}
	if len(missing) > 0 {
		return Credentials{}, fmt.Errorf("secret lacks %s", strings.Join(missing, ", "))
	}
	return c, nil
}

// Address is where a database is when its secret does not say, or should
// not be believed: the template's Host, Port and Database parameters.
type Address struct {
	// Engine is used when the secret has none (RDS-managed secrets).
	Engine ferry.Engine
	// Host, Port and Database, when set, win over the secret's fields.
	Host     string
	Port     int
	Database string
}

// Complete returns c with a's address: a's host, port and database win
// over the secret's, a's engine fills a secret without one, and the port
// defaults from the engine. A result without an engine or a host is an
// error naming what to set (hostParam, portParam: the parameters that
// would give them).
func Complete(c Credentials, a Address, hostParam string) (Credentials, error) {
	if c.Engine == "" {
		c.Engine = a.Engine
	}
	if a.Host != "" {
		c.Host = a.Host
	}
	if a.Database != "" {
		c.DBName = a.Database
	}
	switch {
	case a.Port > 0:
		c.Port = a.Port
	case c.Port == 0 && c.Engine != "":
		c.Port = c.Engine.DefaultPort()
	}
	if c.Engine == "" {
		return Credentials{}, fmt.Errorf("%w: the secret has no engine (fix: add \"engine\": \"mysql\" or \"postgres\" to it)", ErrMalformed)
	}
	if c.Host == "" {
		return Credentials{}, fmt.Errorf("%w: the secret has no host (fix: set %s, or add \"host\" to the secret; a secret RDS manages holds only username and password)", ErrMalformed, hostParam)
	}
	return c, nil
}

// Getter is the one Secrets Manager call the cache needs;
// *secretsmanager.Client implements it.
type Getter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ Getter = (*secretsmanager.Client)(nil)

// Cache is a TTL cache of parsed secrets, safe for concurrent use. One
// secret is fetched at most once at a time; other callers wait for it.
type Cache struct {
	client Getter
	ttl    time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]*entry
}

type entry struct {
	mu      sync.Mutex // held while fetching
	creds   Credentials
	fetched time.Time
	ok      bool
}

// New returns a cache over client. ttl <= 0 means DefaultTTL.
func New(client Getter, ttl time.Duration) *Cache {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Cache{client: client, ttl: ttl, now: time.Now, entries: map[string]*entry{}}
}

// WithClock replaces the cache's clock (tests).
func (c *Cache) WithClock(now func() time.Time) *Cache {
	c.now = now
	return c
}

func (c *Cache) entry(id string) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[id]
	if e == nil {
		e = &entry{}
		c.entries[id] = e
	}
	return e
}

// Get returns the credentials in secret id (an ARN or a name), from the
// cache when read less than the TTL ago, else from Secrets Manager.
// A failure to read is retryable (ferry.RetryableError is applied by the
// caller where it matters); a secret that does not parse is not.
func (c *Cache) Get(ctx context.Context, id string) (Credentials, error) {
	e := c.entry(id)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ok && c.now().Sub(e.fetched) < c.ttl {
		return e.creds, nil
	}
	out, err := c.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return Credentials{}, fmt.Errorf("secrets: get %s: %w (fix: check the ARN and that the function's role may secretsmanager:GetSecretValue it)", id, err)
	}
	if out.SecretString == nil {
		return Credentials{}, fmt.Errorf("secrets: %s has no SecretString (binary secrets are not supported): %w", id, ErrMalformed)
	}
	creds, err := ParseSecret(*out.SecretString)
	if err != nil {
		return Credentials{}, fmt.Errorf("secrets: %s: %w: %w", id, ErrMalformed, err)
	}
	e.creds, e.fetched, e.ok = creds, c.now(), true
	return creds, nil
}

// Invalidate forgets secret id, so the next Get reads it again. Use it
// when a login with the cached password fails: the secret may have been
// rotated.
func (c *Cache) Invalidate(id string) {
	e := c.entry(id)
	e.mu.Lock()
	e.ok = false
	e.creds = Credentials{}
	e.mu.Unlock()
}

// Open reads secret id and calls open with it. When open fails with an
// error refused reports as a refused login (the engine adapter's
// classifier), the secret is invalidated, read again and open is called
// once more: this is how a rotated password is picked up by a warm
// container. Errors never contain the password.
func Open[T any](ctx context.Context, c *Cache, id string, refused func(error) bool, open func(context.Context, Credentials) (T, error)) (T, error) {
	var zero T
	creds, err := c.Get(ctx, id)
	if err != nil {
		return zero, err
	}
	v, err := open(ctx, creds)
	if err == nil {
		return v, nil
	}
	if !refused(err) {
		return zero, Redact(err, creds.Password)
	}
	slog.WarnContext(ctx, "secrets: login refused, re-reading the secret (rotation?)", "secret", id, "db", creds)
	c.Invalidate(id)
	fresh, gerr := c.Get(ctx, id)
	if gerr != nil {
		return zero, fmt.Errorf("secrets: re-read %s after a refused login (%v): %w", id, Redact(err, creds.Password), gerr)
	}
	v, err = open(ctx, fresh)
	if err != nil {
		return zero, Redact(Redact(err, fresh.Password), creds.Password)
	}
	return v, nil
}

// Redact returns err with every occurrence of password in its message
// replaced by "***". The original error stays reachable with errors.As /
// errors.Is (driver error codes keep working). nil stays nil.
func Redact(err error, password string) error {
	if err == nil || password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return &redacted{msg: strings.ReplaceAll(err.Error(), password, "***"), err: err}
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }
