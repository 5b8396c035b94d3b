package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pulsehub/pulsehub/shared/retry"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// Migration is one numbered data migration. Apply receives the checkpoint
// saved by an earlier, interrupted run ("" the first time) and calls save
// with its progress (typically the last key processed) so that a crash
// resumes from there instead of starting over. Apply must tolerate being
// run again from its last checkpoint: work after the checkpoint may have been
// done already. Apply's context is cancelled if this runner loses its lease.
type Migration struct {
	ID    int
	Name  string
	Apply func(ctx context.Context, t *Table, checkpoint string, save func(checkpoint string) error) error
}

// Migration record states.
const (
	MigrationRunning = "running"
	MigrationDone    = "done"
)

// Keys of the migration bookkeeping items.
const (
	migrationPK = "MIGRATION"
	schemaPK    = "META"
	schemaSK    = "SCHEMA"
)

// MigrationRecord is the item MIGRATION/<nnnn> that records one migration.
type MigrationRecord struct {
	PK         string `dynamodbav:"PK"`
	SK         string `dynamodbav:"SK"`
	ID         int    `dynamodbav:"id"`
	Name       string `dynamodbav:"name"`
	Status     string `dynamodbav:"status"`
	StartedAt  string `dynamodbav:"startedAt,omitempty"`
	DoneAt     string `dynamodbav:"doneAt,omitempty"`
	Checkpoint string `dynamodbav:"checkpoint,omitempty"`
	LastError  string `dynamodbav:"lastError,omitempty"`
	// LeaseOwner holds the migration while LeaseUntil (Unix ms) is in the future.
	LeaseOwner string `dynamodbav:"leaseOwner,omitempty"`
	LeaseUntil int64  `dynamodbav:"leaseUntil,omitempty"`
}

// SchemaVersion is the item META/SCHEMA: the ID of the last migration done.
type SchemaVersion struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	Version   int    `dynamodbav:"version"`
	CreatedAt string `dynamodbav:"createdAt,omitempty"`
	UpdatedAt string `dynamodbav:"updatedAt,omitempty"`
}

// SchemaKey is the key of the schema version item.
var SchemaKey = Key{PK: schemaPK, SK: schemaSK}

// MigrationKey is the key of migration id's record.
func MigrationKey(id int) Key { return Key{PK: migrationPK, SK: fmt.Sprintf("%04d", id)} }

// Migrations is the production list, in order. Append only: never renumber,
// rename or remove an entry that has shipped.
func Migrations() []Migration {
	return []Migration{
		{ID: 1, Name: "baseline", Apply: baseline},
	}
}

// baseline creates the schema version item; Migrate sets its version.
func baseline(ctx context.Context, t *Table, _ string, _ func(string) error) error {
	err := t.Put(ctx, SchemaVersion{PK: schemaPK, SK: schemaSK, CreatedAt: time.Now().UTC().Format(time.RFC3339)}, IfAbsent())
	if err != nil && apperr.KindOf(err) != apperr.Conflict {
		return fmt.Errorf("baseline: %w", err)
	}
	return nil
}

// Migrate applies the pending migrations of ms in order and returns the IDs
// this call applied. IDs must run 1, 2, 3… without gaps, and every migration
// already recorded in the table must carry the same name as in ms, so a
// renumbered or reordered list is refused before anything runs.
//
// Several runners may call Migrate at once (two deploys, the local runtime
// and a test): each migration is taken under a conditional lease, renewed
// while it runs, so exactly one runner applies it; the others wait for it to
// be done (bounded by ctx) and go on. A runner that crashed leaves its lease
// to expire; the next runner takes the migration over from its checkpoint.
func Migrate(ctx context.Context, t *Table, ms []Migration, log *slog.Logger) ([]int, error) {
	m := migrator{t: t, log: log, now: time.Now, lease: 2 * time.Minute, poll: 250 * time.Millisecond}
	return m.run(ctx, ms)
}

type migrator struct {
	t     *Table
	log   *slog.Logger
	now   func() time.Time
	lease time.Duration // how long a lease lasts without renewal
	poll  time.Duration // how often a waiting runner looks again
}

var errLeaseLost = apperr.E(apperr.Conflict, "migration lease lost to another runner")

func (m migrator) run(ctx context.Context, ms []Migration) ([]int, error) {
	if err := m.check(ctx, ms); err != nil {
		return nil, err
	}
	owner := rand.Text()
	var applied []int
	for _, mig := range ms {
		did, err := m.one(ctx, mig, owner)
		if err != nil {
			return applied, fmt.Errorf("store.Migrate %04d %s: %w", mig.ID, mig.Name, err)
		}
		if did {
			applied = append(applied, mig.ID)
		}
	}
	return applied, nil
}

// check validates the list against itself and against the table.
func (m migrator) check(ctx context.Context, ms []Migration) error {
	for i, mig := range ms {
		if mig.ID != i+1 {
			return fmt.Errorf("store.Migrate: migration %q at position %d has ID %d, want %d (IDs run 1, 2, 3… with no gap or reordering)", mig.Name, i+1, mig.ID, i+1)
		}
		if mig.Name == "" || mig.Apply == nil {
			return fmt.Errorf("store.Migrate: migration %04d needs a name and an Apply function", mig.ID)
		}
	}
	recs, err := QueryAll[MigrationRecord](ctx, m.t, Query{PK: migrationPK, Consistent: true}, 0)
	if err != nil {
		return fmt.Errorf("store.Migrate: read records: %w", err)
	}
	for _, r := range recs {
		if r.ID < 1 || r.ID > len(ms) {
			return fmt.Errorf("store.Migrate: the table records migration %04d %q, which this code does not know (was newer code deployed?)", r.ID, r.Name)
		}
		if want := ms[r.ID-1].Name; r.Name != want {
			return fmt.Errorf("store.Migrate: migration %04d is %q in the table but %q in code (renumbered or reordered?)", r.ID, r.Name, want)
		}
	}
	return nil
}

// one applies mig unless it is done, waiting while another runner holds it.
// It reports whether this runner applied it.
func (m migrator) one(ctx context.Context, mig Migration, owner string) (bool, error) {
	waiting := false
	for {
		rec, err := m.acquire(ctx, mig, owner)
		if err == nil {
			return true, m.apply(ctx, mig, owner, rec.Checkpoint)
		}
		if apperr.KindOf(err) != apperr.Conflict {
			return false, err
		}
		// Someone else holds it or it is done.
		var cur MigrationRecord
		if err := m.t.Get(ctx, MigrationKey(mig.ID), &cur); err != nil && apperr.KindOf(err) != apperr.NotFound {
			return false, err
		}
		if cur.Status == MigrationDone {
			return false, nil
		}
		if !waiting {
			m.log.InfoContext(ctx, "migration held by another runner; waiting", "migration", mig.ID, "name", mig.Name)
			waiting = true
		}
		if err := retry.Sleep(ctx, m.poll); err != nil {
			return false, apperr.Wrap(apperr.Transient, err, "gave up waiting for another runner")
		}
	}
}

// acquire takes the lease on mig's record, creating the record if needed. It
// fails with apperr.Conflict when the migration is done or another runner
// holds an unexpired lease.
func (m migrator) acquire(ctx context.Context, mig Migration, owner string) (MigrationRecord, error) {
	now := m.now()
	upd := expression.
		Set(expression.Name("id"), expression.Value(mig.ID)).
		Set(expression.Name("name"), expression.Value(mig.Name)).
		Set(expression.Name("status"), expression.Value(MigrationRunning)).
		Set(expression.Name("leaseOwner"), expression.Value(owner)).
		Set(expression.Name("leaseUntil"), expression.Value(now.Add(m.lease).UnixMilli())).
		Set(expression.Name("startedAt"), expression.IfNotExists(expression.Name("startedAt"), expression.Value(now.UTC().Format(time.RFC3339Nano))))
	free := expression.AttributeNotExists(expression.Name("PK")).Or(
		expression.Name("status").NotEqual(expression.Value(MigrationDone)).And(
			expression.AttributeNotExists(expression.Name("leaseUntil")).Or(
				expression.Name("leaseUntil").LessThan(expression.Value(now.UnixMilli())))))
	var rec MigrationRecord
	err := m.t.Update(ctx, MigrationKey(mig.ID), upd, &rec, If(free))
	return rec, err
}

// apply runs mig under the lease, renewing it until Apply returns.
func (m migrator) apply(ctx context.Context, mig Migration, owner, checkpoint string) error {
	log := m.log.With("migration", mig.ID, "name", mig.Name)
	if checkpoint != "" {
		log.InfoContext(ctx, "resuming migration from checkpoint", "checkpoint", checkpoint)
	} else {
		log.InfoContext(ctx, "applying migration")
	}
	start := m.now()
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		tick := time.NewTicker(m.lease / 3)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if err := m.renew(actx, mig.ID, owner, nil); err != nil {
					cancel(err)
					return
				}
			}
		}
	}()
	save := func(cp string) error {
		if err := m.renew(actx, mig.ID, owner, &cp); err != nil {
			cancel(err)
			return err
		}
		return nil
	}
	err := mig.Apply(actx, m.t, checkpoint, save)
	close(stop)
	<-renewed
	// A lost lease cancels Apply, which then usually reports only
	// "context canceled"; keep the reason.
	if cause := context.Cause(actx); cause != nil && !errors.Is(err, cause) {
		err = errors.Join(cause, err)
	}
	if err != nil {
		// Give the migration up at once so a retry need not wait for the lease.
		m.release(context.WithoutCancel(ctx), mig.ID, owner, err)
		log.ErrorContext(ctx, "migration failed", "err", err)
		return err
	}
	if err := m.finish(ctx, mig.ID, owner); err != nil {
		return err
	}
	log.InfoContext(ctx, "migration done", "took", m.now().Sub(start).String())
	return nil
}

// renew extends the lease and, when cp is not nil, saves the checkpoint.
func (m migrator) renew(ctx context.Context, id int, owner string, cp *string) error {
	upd := expression.Set(expression.Name("leaseUntil"), expression.Value(m.now().Add(m.lease).UnixMilli()))
	if cp != nil {
		upd = upd.Set(expression.Name("checkpoint"), expression.Value(*cp))
	}
	err := m.t.Update(ctx, MigrationKey(id), upd, nil, m.held(owner))
	if apperr.KindOf(err) == apperr.Conflict {
		return errLeaseLost
	}
	return err
}

func (m migrator) held(owner string) Cond {
	return If(expression.Name("leaseOwner").Equal(expression.Value(owner)).And(
		expression.Name("status").Equal(expression.Value(MigrationRunning))))
}

func (m migrator) release(ctx context.Context, id int, owner string, cause error) {
	msg := cause.Error()
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	upd := expression.Set(expression.Name("lastError"), expression.Value(msg)).
		Remove(expression.Name("leaseOwner")).Remove(expression.Name("leaseUntil"))
	if err := m.t.Update(ctx, MigrationKey(id), upd, nil, m.held(owner)); err != nil {
		m.log.WarnContext(ctx, "could not release migration lease; it will expire", "migration", id, "err", err)
	}
}

// finish marks the migration done and raises META/SCHEMA's version in one
// transaction, so the version never runs ahead of the records.
func (m migrator) finish(ctx context.Context, id int, owner string) error {
	now := m.now().UTC().Format(time.RFC3339Nano)
	done := expression.Set(expression.Name("status"), expression.Value(MigrationDone)).
		Set(expression.Name("doneAt"), expression.Value(now)).
		Remove(expression.Name("leaseOwner")).Remove(expression.Name("leaseUntil")).Remove(expression.Name("lastError"))
	version := expression.Set(expression.Name("version"), expression.Value(id)).
		Set(expression.Name("updatedAt"), expression.Value(now))
	older := expression.AttributeNotExists(expression.Name("version")).Or(
		expression.Name("version").LessThan(expression.Value(id)))
	err := m.t.Transact(ctx,
		m.t.TxUpdate(MigrationKey(id), done, m.held(owner)),
		m.t.TxUpdate(SchemaKey, version, If(older)))
	if apperr.KindOf(err) == apperr.Conflict {
		return errors.Join(errLeaseLost, err)
	}
	return err
}
