package profile

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Merging the profiles of one person, and undoing a merge, in the table.

// Merge folds profile merged into survivor: the merged partition's items
// move into the survivor's, its identity-index entries point at the
// survivor, the aggregates add up, and a MERGE record keeps what Unmerge
// needs. Safe to repeat after a crash.
func (s *Store) Merge(ctx context.Context, tenant, survivor, merged, reason string) error {
	m, err := s.profile(ctx, tenant, merged)
	if err != nil {
		return fmt.Errorf("profile.Merge: %w", err)
	}
	if m.MergedInto != "" {
		return nil // done before
	}
	items, err := store.QueryAll[map[string]any](ctx, s.t, store.Query{PK: custPK(tenant, merged), Consistent: true}, 0)
	if err != nil {
		return fmt.Errorf("profile.Merge: read %s: %w", merged, err)
	}
	var moved []any
	var movedKeys []string
	for _, it := range items {
		sk, _ := it["SK"].(string)
		if sk == skProfile || strings.HasPrefix(sk, skMerge) {
			continue
		}
		it["PK"] = custPK(tenant, survivor)
		if sk2, ok := it["customerId"]; ok && sk2 != nil {
			it["customerId"] = survivor
		}
		moved = append(moved, it)
		movedKeys = append(movedKeys, sk)
	}
	if err := s.t.BatchPut(ctx, moved); err != nil {
		return fmt.Errorf("profile.Merge: copy items: %w", err)
	}
	snapshot, _ := json.Marshal(m)
	at := s.now()
	rec := MergeRecord{PK: custPK(tenant, survivor), SK: skMerge + sortTS(at) + "#" + merged, SurvivorID: survivor, MergedID: merged,
		At: ts(at), Reason: reason, MovedKeys: movedKeys, IndexKeys: m.IndexKeys, MergedState: snapshot}
	_, _, err = s.mutate(ctx, tenant, survivor, func(p *Profile) (bool, []store.TxOp, error) {
		foldInto(p, m)
		ops := []store.TxOp{s.t.TxPut(rec)}
		for _, k := range m.IndexKeys {
			ops = append(ops, s.t.TxUpdate(store.Key{PK: k, SK: skIndex}, expression.Set(expression.Name("customerId"), expression.Value(survivor))))
		}
		mm := m
		mm.MergedInto, mm.GSI1PK, mm.GSI1SK, mm.IndexKeys = survivor, "", "", nil
		mm.Version, mm.UpdatedAt = m.Version+1, ts(at)
		ops = append(ops, s.t.TxPut(mm, versionIs(m.Version)))
		return true, ops, nil
	})
	if err != nil {
		return fmt.Errorf("profile.Merge %s into %s: %w", merged, survivor, err)
	}
	for _, sk := range movedKeys {
		if err := s.t.Delete(ctx, store.Key{PK: custPK(tenant, merged), SK: sk}); err != nil {
			return fmt.Errorf("profile.Merge: clean %s: %w", merged, err)
		}
	}
	return nil
}

// Unmerge reverses the merge recorded at survivor's MERGE item mergeSK: the
// merged profile comes back as it was (plus nothing learned since), its
// moved items return, its index entries point at it again, and the
// survivor's aggregates drop its share.
func (s *Store) Unmerge(ctx context.Context, tenant, survivor, mergeSK string) error {
	var rec MergeRecord
	if err := s.t.Get(ctx, store.Key{PK: custPK(tenant, survivor), SK: mergeSK}, &rec); err != nil {
		return fmt.Errorf("profile.Unmerge: %w", err)
	}
	if rec.Undone {
		return nil
	}
	var m Profile
	if err := json.Unmarshal(rec.MergedState, &m); err != nil {
		return fmt.Errorf("profile.Unmerge: snapshot: %w", err)
	}
	for _, sk := range rec.MovedKeys {
		var it map[string]any
		if err := s.t.Get(ctx, store.Key{PK: custPK(tenant, survivor), SK: sk}, &it); err != nil {
			if apperr.KindOf(err) == apperr.NotFound {
				continue
			}
			return fmt.Errorf("profile.Unmerge: %w", err)
		}
		it["PK"] = custPK(tenant, m.ID)
		if _, ok := it["customerId"]; ok {
			it["customerId"] = m.ID
		}
		if err := s.t.Put(ctx, it); err != nil {
			return fmt.Errorf("profile.Unmerge: %w", err)
		}
		if err := s.t.Delete(ctx, store.Key{PK: custPK(tenant, survivor), SK: sk}); err != nil {
			return fmt.Errorf("profile.Unmerge: %w", err)
		}
	}
	_, _, err := s.mutate(ctx, tenant, survivor, func(p *Profile) (bool, []store.TxOp, error) {
		// Read again on every attempt: a concurrent undo of the same
		// merge may have committed meanwhile, and must not subtract twice.
		var latest MergeRecord
		if err := s.t.Get(ctx, store.Key{PK: rec.PK, SK: rec.SK}, &latest); err != nil {
			return false, nil, err
		}
		if latest.Undone {
			return false, nil, nil
		}
		cur, err := s.profile(ctx, tenant, m.ID)
		if err != nil {
			return false, nil, err
		}
		unfold(p, m, rec.IndexKeys)
		notUndone := store.If(expression.AttributeNotExists(expression.Name("undone")).Or(expression.Name("undone").Equal(expression.Value(false))))
		ops := []store.TxOp{s.t.TxUpdate(store.Key{PK: rec.PK, SK: rec.SK}, expression.Set(expression.Name("undone"), expression.Value(true)), notUndone)}
		for _, k := range rec.IndexKeys {
			ops = append(ops, s.t.TxUpdate(store.Key{PK: k, SK: skIndex}, expression.Set(expression.Name("customerId"), expression.Value(m.ID))))
		}
		restored := m
		restored.Version, restored.UpdatedAt = cur.Version+1, ts(s.now())
		ops = append(ops, s.t.TxPut(restored, versionIs(cur.Version)))
		return true, ops, nil
	})
	if err != nil {
		return fmt.Errorf("profile.Unmerge %s from %s: %w", m.ID, survivor, err)
	}
	return nil
}

// Merges lists the merge records of a survivor, newest first.
func (s *Store) Merges(ctx context.Context, tenant, survivor string) ([]MergeRecord, error) {
	return store.QueryAll[MergeRecord](ctx, s.t, store.Query{PK: custPK(tenant, survivor), SKPrefix: skMerge, Desc: true, Consistent: true}, 0)
}
