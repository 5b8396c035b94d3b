// Package gdpr exports and erases everything PulseHub holds about one
// customer, generically over the key layout of docs/data-model.md rather
// than per item type, so data added by later features is covered:
//
//   - the customer partition T#<t>#CUST#<id> (profile, orders, events,
//     messages, consents, merges, checkouts — anything stored there), and the
//     partitions of profiles merged into it (MERGE#… records);
//   - the identity index items T#<t>#IDX#… the profile owns (indexKeys);
//   - segment memberships T#<t>#SEG#<seg>#<shard> / C#<id>;
//   - delivery records T#<t>#CAMP#<campaign>#<shard> / D#<id>#<channel>.
//
// Export opens every pii-sealed value it finds. Erasure deletes the
// partition, index and membership items, strips personal attributes from
// delivery records (keeping their status, so campaign reports — anonymous
// aggregates — stay right), and records the erasure in the audit log.
// Daily counters hold no personal data and are kept. Erasing a whole
// workspace crypto-shreds its data keys (ShredTenant).
package gdpr
