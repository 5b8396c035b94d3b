package realtime_test

import (
	"context"

	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/realtime"
	"github.com/pulsehub/pulsehub/shared/wsapi"
)

// anyTokenConnect is a $connect constructor whose verifier accepts any
// non-empty token as an anonymous principal, for tests of the connection
// mechanics; package wsconnect's tests cover the real verifier.
func anyTokenConnect(_ context.Context, d lambdafn.Deps) (any, error) {
	conns := newConnStore(d)
	return realtime.NewConnectHandler(conns, anyToken{}, d.Logger).Handle, nil
}

type anyToken struct{}

func (anyToken) Verify(context.Context, string) (realtime.Principal, error) {
	return realtime.Principal{}, nil
}

func newConnStore(d lambdafn.Deps) *wsapi.ConnectionStore {
	return wsapi.NewConnectionStore(d.Table())
}
