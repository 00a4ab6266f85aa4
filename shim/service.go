// Package shim is containerd's task service for nullrun: the
// containerd-shim-nullrun-v2 binary that containerd 2.x starts for the
// runtime type io.containerd.nullrun.v2. It speaks task API v3 over ttrpc,
// is built on containerd's pkg/shim (the bootstrap protocol of containerd
// 2.3 and later) and drives the runtime package in-process.
//
// The shim is a child subreaper and reaps every child itself, so that each
// exit becomes a TaskExit event with the process's own exit status (0, N,
// or 128+signal). See reaper.go for how reaping is kept away from the
// children that the runtime waits for.
package shim

import (
	"context"
	"fmt"
	"os"
	"sync"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v3"
	cdruntime "github.com/containerd/containerd/v2/core/runtime"
	pkgshim "github.com/containerd/containerd/v2/pkg/shim"
	"github.com/containerd/containerd/v2/pkg/shutdown"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/containerd/ttrpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/nullrun/nullrun/runtime"
)

// RuntimeName is the runtime type containerd selects this shim by.
const RuntimeName = "io.containerd.nullrun.v2"

// eventQueueSize bounds the events waiting to be forwarded to containerd
// before the code that sends one blocks.
const eventQueueSize = 256

var empty = &emptypb.Empty{}

// Service implements containerd's task API v3 for the containers of one
// shim process.
type Service struct {
	// ctx carries the shim's logger and containerd namespace.
	ctx       context.Context
	namespace string
	publisher pkgshim.Publisher
	shutdown  shutdown.Service
	reaper    *reaper

	// eventsMu guards events and eventsClosed; forwarded is closed when
	// the last queued event has been published.
	eventsMu     sync.Mutex
	events       chan any
	eventsClosed bool
	forwarded    chan struct{}

	// mu guards tasks.
	mu    sync.Mutex
	tasks map[string]*task
}

var _ taskAPI.TTRPCTaskService = (*Service)(nil)

// NewService returns the task service and starts its reaper and its event
// forwarder. ctx must carry the containerd namespace.
func NewService(ctx context.Context, publisher pkgshim.Publisher, sd shutdown.Service) (*Service, error) {
	ns, ok := namespaceOf(ctx)
	if !ok {
		return nil, fmt.Errorf("start task service: the shim was started without a namespace")
	}
	s := &Service{
		ctx:       ctx,
		namespace: ns,
		publisher: publisher,
		shutdown:  sd,
		events:    make(chan any, eventQueueSize),
		forwarded: make(chan struct{}),
		tasks:     map[string]*task{},
	}
	s.reaper = newReaper(s.handleExits)
	go s.reaper.run(ctx)
	go s.forwardEvents()
	sd.RegisterCallback(func(ctx context.Context) error {
		s.eventsMu.Lock()
		s.eventsClosed = true
		close(s.events)
		s.eventsMu.Unlock()
		select {
		case <-s.forwarded:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("publish the last events: %w", ctx.Err())
		}
	})
	return s, nil
}

// RegisterTTRPC registers the task service on the shim's ttrpc server.
func (s *Service) RegisterTTRPC(server *ttrpc.Server) error {
	taskAPI.RegisterTTRPCTaskService(server, s)
	return nil
}

// send queues an event for containerd. Events are forwarded in the order
// they were sent, which is what gives containerd TaskCreate before
// TaskStart before TaskExit.
func (s *Service) send(event any) {
	s.eventsMu.Lock()
	defer s.eventsMu.Unlock()
	if s.eventsClosed {
		log.G(s.ctx).WithField("event", fmt.Sprintf("%T", event)).
			Warn("drop event: the shim is shutting down")
		return
	}
	s.events <- event
}

// forwardEvents publishes the queued events one at a time until shutdown
// closes the queue, then closes the publisher.
func (s *Service) forwardEvents() {
	defer close(s.forwarded)
	for event := range s.events {
		topic := cdruntime.GetTopic(event)
		if err := s.publisher.Publish(s.ctx, topic, event); err != nil {
			log.G(s.ctx).WithError(err).WithField("topic", topic).Error("publish event")
		}
	}
	if err := s.publisher.Close(); err != nil {
		log.G(s.ctx).WithError(err).Warn("close event publisher")
	}
}

// logger returns the shim's logger with the task's ID.
func (s *Service) logger(id, execID string) *log.Entry {
	l := log.G(s.ctx).WithField("id", id)
	if execID != "" {
		l = l.WithField("exec_id", execID)
	}
	return l
}

// getTask returns the task with the container ID id.
func (s *Service) getTask(id string) (*task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tasks[id]
	if t == nil {
		return nil, fmt.Errorf("task %s: %w", id, errdefs.ErrNotFound)
	}
	return t, nil
}

// getProcess returns the init (execID empty) or an exec of the task id.
func (s *Service) getProcess(id, execID string) (*task, *process, error) {
	t, err := s.getTask(id)
	if err != nil {
		return nil, nil, err
	}
	p, err := t.process(execID)
	if err != nil {
		return nil, nil, err
	}
	return t, p, nil
}

// Connect returns the PIDs of the shim and the task's init.
func (s *Service) Connect(ctx context.Context, r *taskAPI.ConnectRequest) (*taskAPI.ConnectResponse, error) {
	resp := &taskAPI.ConnectResponse{ShimPid: uint32(os.Getpid()), Version: shimVersion()}
	if t, err := s.getTask(r.ID); err == nil {
		_, pid, _, _ := t.init.snapshot()
		resp.TaskPid = uint32(pid)
	}
	return resp, nil
}

// Shutdown stops the shim once it holds no tasks; with tasks left it
// returns without doing anything, as containerd expects.
func (s *Service) Shutdown(ctx context.Context, r *taskAPI.ShutdownRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tasks) > 0 {
		return empty, nil
	}
	log.G(s.ctx).Debug("shut down: no tasks left")
	s.shutdown.Shutdown()
	return empty, nil
}

// shimVersion returns the version of the runtime built into the shim.
func shimVersion() string {
	return runtime.Features().Annotations[runtime.AnnotationVersion]
}
