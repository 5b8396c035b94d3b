package store

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func sKey(kv ...string) map[string]types.AttributeValue {
	m := map[string]types.AttributeValue{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = &types.AttributeValueMemberS{Value: kv[i+1]}
	}
	return m
}

// FuzzCursorDecode: decode never panics and accepts only the exact strings
// encode produced for that scope.
func FuzzCursorDecode(f *testing.F) {
	c := cursorCodec{secret: []byte("fuzz-secret")}
	const scope = "GSI1\x00T#t1#CUSTOMERS#00\x00\x00\x00"
	for _, k := range []map[string]types.AttributeValue{
		sKey("PK", "T#t1#CUST#1", "SK", "PROFILE"),
		sKey("PK", "T#t1#CUST#1", "SK", "PROFILE", "GSI1PK", "T#t1#CUSTOMERS#00", "GSI1SK", "1"),
		sKey("PK", "ünïcødé\x00", "SK", ""),
	} {
		s, err := c.encode(scope, k)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s)
	}
	f.Add("")
	f.Add(".")
	f.Add("e30.AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		key, err := c.decode(scope, s)
		if err != nil {
			if key != nil {
				t.Fatal("key returned with an error")
			}
			return
		}
		again, err := c.encode(scope, key)
		if err != nil {
			t.Fatalf("re-encode accepted cursor: %v", err)
		}
		if again != s {
			t.Fatalf("accepted %q, which encode spells %q", s, again)
		}
		if _, err := c.decode(scope+"x", s); err == nil {
			t.Fatal("cursor accepted under another scope")
		}
	})
}

func TestCursorRejectsNonStringKeys(t *testing.T) {
	c := cursorCodec{secret: []byte("s")}
	_, err := c.encode("x", map[string]types.AttributeValue{"PK": &types.AttributeValueMemberN{Value: "1"}})
	if err == nil {
		t.Fatal("encode accepted a number key")
	}
}

func BenchmarkCursor(b *testing.B) {
	c := cursorCodec{secret: []byte("bench-secret-32-bytes-long......")}
	const scope = "GSI1\x00T#t1#CUSTOMERS#00\x00\x00\x00"
	key := sKey("PK", "T#t1#CUST#01HZX3", "SK", "PROFILE", "GSI1PK", "T#t1#CUSTOMERS#00", "GSI1SK", "01HZX3")
	s, _ := c.encode(scope, key)
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.encode(scope, key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.decode(scope, s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
