package waiter

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestQueue(t *testing.T) {
	tests := []struct {
		name   string
		mask   uint32
		notify uint32
		woken  bool
	}{
		{"matching event", EPOLLIN, EPOLLIN | EPOLLRDNORM, true},
		{"other event", EPOLLIN, EPOLLOUT, false},
		{"everyone", EPOLLOUT, AllEvents, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var q Queue
			e, ch := NewChannelEntry(tc.mask)
			q.EventRegister(e)
			q.Notify(tc.notify)
			q.Notify(tc.notify) // the channel holds one token, never blocks
			select {
			case <-ch:
				require.True(t, tc.woken)
			default:
				require.False(t, tc.woken)
			}
			q.EventUnregister(e)
			require.True(t, q.Empty())
			q.Notify(AllEvents)
			require.Len(t, ch, 0)
		})
	}
}

func TestCallbackMayUnregister(t *testing.T) {
	var q Queue
	var e *Entry
	got := uint32(0)
	e = NewEntry(EPOLLIN|EPOLLHUP, func(ev uint32) {
		got = ev
		q.EventUnregister(e)
	})
	q.EventRegister(e)
	q.Notify(EPOLLIN | EPOLLOUT)
	require.Equal(t, uint32(EPOLLIN), got, "events are filtered by the entry's mask")
	require.True(t, q.Empty())
}
