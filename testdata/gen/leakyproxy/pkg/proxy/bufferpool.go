package proxy

import "sync"

const bufferPoolSize = 32 * 1024

// BufferPool is a sync.Pool of 32 KiB copy buffers shared by all proxies.
type BufferPool struct {
	pool sync.Pool
}

// NewBufferPool creates a buffer pool.
func NewBufferPool() *BufferPool {
	return &BufferPool{pool: sync.Pool{New: func() interface{} {
		b := make([]byte, bufferPoolSize)
		return &b
	}}}
}

// Get returns a buffer.
func (b *BufferPool) Get() []byte { return *(b.pool.Get().(*[]byte)) }

// Put returns a buffer to the pool.
func (b *BufferPool) Put(bytes []byte) { b.pool.Put(&bytes) }
