package wsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/aws/smithy-go"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// ErrGone means the connection no longer exists (GoneException): the caller
// should delete its record. Its kind is apperr.NotFound.
var ErrGone = apperr.E(apperr.NotFound, "websocket connection is gone")

// ManagementAPI is the subset of the apigatewaymanagementapi client used here.
type ManagementAPI interface {
	PostToConnection(context.Context, *apigatewaymanagementapi.PostToConnectionInput, ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error)
	DeleteConnection(context.Context, *apigatewaymanagementapi.DeleteConnectionInput, ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.DeleteConnectionOutput, error)
}

// Client sends messages to WebSocket connections.
type Client struct {
	api ManagementAPI
}

// NewClient returns a Client for the management endpoint in WS_ENDPOINT
// (https://{api}.execute-api.{region}.amazonaws.com/{stage} in AWS,
// http://HOST/ws locally).
func NewClient(cfg aws.Config, endpoint string) (*Client, error) {
	if endpoint == "" {
		return nil, fmt.Errorf("wsapi: the management endpoint (WS_ENDPOINT) is empty")
	}
	api := apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
	return &Client{api: api}, nil
}

// NewClientWith wraps an existing management API client.
func NewClientWith(api ManagementAPI) *Client { return &Client{api: api} }

// Send posts msg, encoded as JSON, to the connection as one text message.
func (c *Client) Send(ctx context.Context, connectionID string, msg any) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("wsapi.Send %s: encode %T: %w", connectionID, msg, err)
	}
	_, err = c.api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(connectionID),
		Data:         data,
	})
	if err != nil {
		return fmt.Errorf("wsapi.Send %s: %w", connectionID, classify(err))
	}
	return nil
}

// Close disconnects the client. Closing a connection that is already gone
// returns ErrGone.
func (c *Client) Close(ctx context.Context, connectionID string) error {
	_, err := c.api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(connectionID)})
	if err != nil {
		return fmt.Errorf("wsapi.Close %s: %w", connectionID, classify(err))
	}
	return nil
}

// classify maps management API errors to apperr kinds, once.
func classify(err error) error {
	var gone *types.GoneException
	var tooLarge *types.PayloadTooLargeException
	var limit *types.LimitExceededException
	var forbidden *types.ForbiddenException
	var apiErr smithy.APIError
	switch {
	case errors.As(err, &gone):
		return errors.Join(ErrGone, err)
	case errors.As(err, &tooLarge):
		return apperr.Wrap(apperr.TooLarge, err, "message exceeds the WebSocket limit of 128 KB")
	case errors.As(err, &limit):
		return apperr.Wrap(apperr.RateLimited, err, "management API rate limited")
	case errors.As(err, &forbidden):
		return apperr.Wrap(apperr.Internal, err, "management API refused the call (check execute-api:ManageConnections)")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return apperr.Wrap(apperr.Transient, err, "management API call cut short")
	case errors.As(err, &apiErr) && apiErr.ErrorFault() == smithy.FaultServer:
		return apperr.Wrap(apperr.Transient, err, "management API failed")
	}
	return err
}
