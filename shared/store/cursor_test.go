package store

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pulsehub/pulsehub/shared/apperr"
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

// TestPositionCursors: a caller's position comes back only under its own
// scope, and the two kinds of cursor never open as each other.
func TestPositionCursors(t *testing.T) {
	tbl := New(nil, "t", []byte("s"))
	pos := map[string]string{"00": "C#1", "01": ""}
	s, err := tbl.SignCursor("customers\x00t1\x00all", pos)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tbl.OpenCursor("customers\x00t1\x00all", s)
	if err != nil || len(got) != 2 || got["00"] != "C#1" || got["01"] != "" {
		t.Fatalf("OpenCursor = %v, %v", got, err)
	}
	if _, err := tbl.OpenCursor("customers\x00t2\x00all", s); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("another tenant's scope: %v", err)
	}
	var ae *apperr.Error
	if _, err := tbl.cursor.decode("customers\x00t1\x00all", s); !errors.As(err, &ae) || ae.Field != "cursor" {
		t.Fatalf("position opened as a key cursor: %v", err)
	}
	key, err := tbl.cursor.encode("q", sKey("PK", "P", "SK", "S"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.OpenCursor("q", key); err == nil {
		t.Fatal("key cursor opened as a position")
	}
}
