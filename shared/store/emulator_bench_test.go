package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/store/storetest"
)

// BenchmarkEmulatorWrites measures what the table behind the tests (DynamoDB
// Local) can do: PutItem and a three-item TransactWriteItems, the shape of
// one order in ingest, one at a time and from 16 goroutines. On DynamoDB
// Local the wall time per operation does not fall with concurrency — it
// applies writes one at a time — so its writes per second, not the code
// under test, bound the local load runs (docs/performance.md).
func BenchmarkEmulatorWrites(b *testing.B) {
	type row struct {
		PK, SK string
		N      int
		Data   string
	}
	for _, op := range []string{"PutItem", "TransactWriteItems×3"} {
		for _, workers := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/workers=%d", op, workers), func(b *testing.B) {
				tbl := storetest.Table(b, "bench-writes")
				ctx := context.Background()
				write := func(i int) error {
					pk := fmt.Sprintf("B#%d#%d", workers, i)
					if op == "PutItem" {
						return tbl.Put(ctx, row{PK: pk, SK: "A", N: i, Data: "order"})
					}
					return tbl.Transact(ctx,
						tbl.TxPut(row{PK: pk, SK: "ORDER", N: i, Data: "order"}, store.IfAbsent()),
						tbl.TxPut(row{PK: pk, SK: "CLAIM", N: i, Data: "claim"}, store.IfAbsent()),
						tbl.TxPut(row{PK: pk, SK: "PROFILE", N: i, Data: "profile"}, store.IfAbsent()))
				}
				next := make(chan int)
				var wg sync.WaitGroup
				start := time.Now()
				b.ResetTimer()
				for range workers {
					wg.Go(func() {
						for i := range next {
							if err := write(i); err != nil {
								b.Error(err)
							}
						}
					})
				}
				for i := range b.N {
					next <- i
				}
				close(next)
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
			})
		}
	}
}
