"""The PyTorch baseline of Backplane's embedding benchmark, run by the Java harness in the same run on
the same GPU: all-MiniLM-L6-v2 as transformers' BertModel, its weights read from the same .onnx file
Backplane runs (so both sides compute the same function), float32 with TF32 off. Each batch is what
Backplane's batch is: padded token ids in, the encoder, mean pooling over the mask, L2 normalisation,
the vectors back on the host, waited for.

usage: torch_minilm.py MODEL.onnx IDS.bin VECTORS_OUT.bin SEQ ROUNDS ROUND_SECONDS
IDS.bin holds int64 token ids [n, SEQ] padded with 0. Prints `key=value` lines.
"""
import re
import sys
import time

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import transformers
from transformers import BertConfig, BertModel


def state_dict_from_onnx(path):
    """The model's parameters by their PyTorch names. The exporter kept the names of biases, norms and
    embeddings; each Linear weight is stored transposed under a generated name, found through the
    MatMul that reads it (its output is named after the module: /encoder/layer.0/attention/self/query/MatMul)."""
    model = onnx.load(path)
    tensors = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    state = {}
    for name, value in tensors.items():
        if not name.startswith("onnx::") and name != "embeddings.position_ids":
            state[name] = torch.from_numpy(value.copy())
    for node in model.graph.node:
        if node.op_type == "MatMul" and node.input[1] in tensors:
            module = re.sub(r"/MatMul$", "", node.name).strip("/").replace("/", ".")
            state[module + ".weight"] = torch.from_numpy(tensors[node.input[1]].T.copy())
    return state


def main():
    path, ids_file, vectors_file = sys.argv[1], sys.argv[2], sys.argv[3]
    seq, rounds, round_seconds = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    start = time.perf_counter()
    config = BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                        intermediate_size=1536, max_position_embeddings=512, type_vocab_size=2,
                        hidden_act="gelu", layer_norm_eps=1e-12)
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(state_dict_from_onnx(path), strict=False)
    missing = [m for m in missing if not m.endswith("position_ids")]
    if missing or unexpected:
        raise SystemExit(f"weights do not map onto BertModel: missing {missing}, unexpected {unexpected}")
    model = model.cuda().eval()
    torch.cuda.synchronize()
    print(f"load.s={time.perf_counter() - start:.2f}")
    print(f"torch={torch.__version__}")
    print(f"transformers={transformers.__version__}")
    print(f"attention={model.config._attn_implementation}")

    ids = np.fromfile(ids_file, dtype="<i8").reshape(-1, seq)

    @torch.inference_mode()
    def embed(batch):
        tokens = torch.from_numpy(batch).cuda()
        mask = (tokens != 0).to(torch.int64)
        hidden = model(input_ids=tokens, attention_mask=mask, token_type_ids=torch.zeros_like(tokens)).last_hidden_state
        w = mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * w).sum(1) / w.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(mean, p=2, dim=1).cpu().numpy()

    embed(ids[:32]).astype("<f4").tofile(vectors_file)
    for b in (1, 32):
        work = [ids[i:i + b] for i in range(0, len(ids) - b + 1, b)]
        for w in work[:5]:
            embed(w)
        t = time.perf_counter()
        n = 0
        while time.perf_counter() - t < 0.2:
            embed(work[n % len(work)])
            n += 1
        per_round = max(1, round(round_seconds / ((time.perf_counter() - t) / n)))
        rates = []
        for _ in range(rounds):
            t = time.perf_counter()
            for i in range(per_round):
                embed(work[i % len(work)])
            rates.append(per_round * b / (time.perf_counter() - t))
        print(f"b{b}.sps=" + ",".join(f"{r:.2f}" for r in rates))


if __name__ == "__main__":
    main()
