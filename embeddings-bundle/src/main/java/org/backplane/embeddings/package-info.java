/**
 * Sentence embeddings on Backplane: {@link org.backplane.embeddings.EmbeddingService}, registered
 * by the embeddings bundle and configured through Config Admin (PID {@code org.backplane.embeddings}).
 */
@Export
@Version("1.0.0")
package org.backplane.embeddings;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
