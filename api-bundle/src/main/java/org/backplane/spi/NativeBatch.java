package org.backplane.spi;

/**
 * What an engine keeps for one batch while it is encoded and in flight (a command buffer and its
 * encoder, the events and buffers its ops use), attached with {@link CommandBatch#attach}.
 */
public interface NativeBatch {}
