/**
 * ONNX models on Backplane: {@link org.backplane.onnx.OnnxModel} loads a model file (protobuf, the
 * ONNX schema compiled at build), uploads its weights once per backend, and runs its graph as
 * Backplane ops on any backend's stream, under the stream error contract like any other work.
 */
@Export
@Version("1.0.0")
package org.backplane.onnx;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
