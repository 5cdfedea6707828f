using PinnerSage.ItemSage.Model;
using OnnxProto = global::Onnx;

namespace PinnerSage.ItemSage.OnnxExport;

/// <summary>Builds the ONNX graph of a trained tower (transformer or MLP-concat) from its model inputs to the
/// L2-normalised embedding, with the tower's parameters as initialisers. Inference only (no dropout).</summary>
/// <remarks>
/// Inputs (B = batch, T = tokens per field after padding, both symbolic; F = text fields, M = vector slots,
/// I = vector dimension, fixed by the model):
/// <list type="bullet">
/// <item><c>token_ids</c> int64 [B, F, T]: vocabulary ids (0 … VocabularySize − 1) of each text field, padded with 0.</item>
/// <item><c>token_weights</c> float [B, F, T]: 1 per real token, 0 for padding. A field with no token (all 0) is
/// absent (a masked position of the transformer; zeros in the MLP's input), exactly as an empty field in
/// <see cref="ItemFeatureBatch"/>.</item>
/// <item><c>vectors</c> float [B, M, I] and <c>vector_mask</c> float [B, M] (1 present, 0 absent): the pretrained
/// vectors by slot (see <see cref="ItemSageOnnxInputs"/> for which vector goes to which slot).</item>
/// </list>
/// The text inputs exist only when the model has text fields, the vector inputs only when it has vectors.
/// Output <c>embedding</c> float [B, OutputDim], unit rows.
/// The hash embedding runs inside the graph: two int64 tables h₁[V], h₂[V] (the hash functions evaluated for every
/// vocabulary id at export) gather rows of E, weighted by W[t, 0], W[t, 1]; a field's vector is the weighted sum over
/// its tokens, then the field LayerNorm. Attention masks absent keys with an additive −10⁹ (softmax gives them exactly
/// 0 weight in float32, as the tower's −∞). The last encoder layer computes only the [CLS] query, as the tower does;
/// the K/V projection is computed for every position (the tower absorbs it into the query: equal up to rounding).
/// </remarks>
internal static class ItemSageOnnxGraph
{
    private const float LayerNormEpsilon = 1e-5f;
    private const float MaskedScore = -1e9f;

    public static OnnxProto.ModelProto Build(IItemTower tower, string producerVersion)
    {
        ArgumentNullException.ThrowIfNull(tower);
        bool transformer = tower is ItemSageTransformer;
        if (!transformer && tower is not MlpConcatTower)
            throw new ArgumentException($"cannot export a tower of type {tower.GetType().Name}");
        ItemSageModelOptions o = tower.Options;
        var p = new TowerParameters(tower);
        var g = new OnnxGraph(transformer ? "itemsage_transformer" : "itemsage_mlp_concat");
        int f = o.TextFields, m = o.MaxImages, imageDim = o.ImageDim;

        string? ids = null, weights = null, vectors = null, vectorMask = null;
        if (f > 0)
        {
            ids = g.Input(ItemSageOnnxInputs.TokenIds, OnnxGraph.Int64, "batch", f, "tokens");
            weights = g.Input(ItemSageOnnxInputs.TokenWeights, OnnxGraph.Float, "batch", f, "tokens");
        }
        if (imageDim > 0)
        {
            vectors = g.Input(ItemSageOnnxInputs.Vectors, OnnxGraph.Float, "batch", m, imageDim);
            vectorMask = g.Input(ItemSageOnnxInputs.VectorMask, OnnxGraph.Float, "batch", m);
        }

        // Text group (both towers, first in the parameter layout): LN(Σ_t w_t·(W[t,0]·E[h₁(t)] + W[t,1]·E[h₂(t)])).
        string? fieldVectors = null, fieldPresent = null;
        if (f > 0)
        {
            ReadOnlyMemory<float> e = p.Next(o.HashRows * o.HashDim), w = p.Next(o.VocabularySize * 2);
            NormWeights ln = NormWeights.Read(p, o.HashDim);
            var h1 = new long[o.VocabularySize];
            var h2 = new long[o.VocabularySize];
            for (int t = 0; t < h1.Length; t++)
            {
                h1[t] = HashEmbedding.Hash1(t, o.HashRows);
                h2[t] = HashEmbedding.Hash2(t, o.HashRows);
            }
            string eName = g.Floats("hash_E", e.Span, o.HashRows, o.HashDim);
            string wName = g.Floats("token_W", w.Span, o.VocabularySize, 2);
            string rows1 = g.Gather(g.Longs("hash1", h1, h1.Length), ids!);
            string rows2 = g.Gather(g.Longs("hash2", h2, h2.Length), ids!);
            string tokenW = g.Gather(wName, ids!); // [B, F, T, 2]
            string v1 = g.Mul(g.Gather(eName, rows1), g.Slice(tokenW, 0, 1, 3));
            string v2 = g.Mul(g.Gather(eName, rows2), g.Slice(tokenW, 1, 2, 3));
            string tokens = g.Mul(g.Add(v1, v2), g.Unsqueeze(weights!, 3)); // [B, F, T, HashDim]
            string sum = g.ReduceSum(tokens, 2, keepDims: false); // [B, F, HashDim]
            fieldVectors = LayerNorm(g, sum, ln);
            fieldPresent = g.Node("Cast", [g.Node("Greater", [g.ReduceSum(weights!, 2, keepDims: false), g.Scalar(0f)])],
                null, ("to", OnnxGraph.Float)); // [B, F]
        }

        string embedding = transformer
            ? Transformer(g, p, o, fieldVectors, fieldPresent, vectors, vectorMask, ids ?? vectors!)
            : MlpConcat(g, p, o, fieldVectors, fieldPresent, vectors, vectorMask);
        p.Finish();
        g.Output(g.L2Normalize(embedding), ItemSageOnnxInputs.Embedding, OnnxGraph.Float, "batch", o.OutputDim);
        if (g.InitializerBytes > int.MaxValue - (64 << 20))
            throw new ArgumentException($"the model's parameters ({g.InitializerBytes:N0} bytes) exceed the 2 GB limit of one ONNX protobuf file");
        return g.ToModel(producerVersion, transformer
            ? "ItemSage product tower (transformer): item features → L2-normalised embedding. Inputs: see the .features.json beside this file."
            : "ItemSage MLP-concat baseline tower: item features → L2-normalised embedding. Inputs: see the .features.json beside this file.");
    }

    private static string LayerNorm(OnnxGraph g, string x, NormWeights n)
    {
        return g.LayerNorm(x, g.Floats("ln_g", n.Gain.Span, n.Dim), g.Floats("ln_b", n.Bias.Span, n.Dim), LayerNormEpsilon);
    }

    private static string Linear(OnnxGraph g, string x, LinearWeights l) =>
        g.Linear(x, g.Floats("W", l.W.Span, l.In, l.Out), g.Floats("b", l.B.Span, l.Out));

    private static string Head(OnnxGraph g, TowerParameters p, ItemSageModelOptions o, string x, int inDim, bool layerNorm)
    {
        if (layerNorm) x = LayerNorm(g, x, NormWeights.Read(p, inDim));
        LinearWeights l1 = LinearWeights.Read(p, inDim, o.HeadHidden);
        LinearWeights l2 = LinearWeights.Read(p, o.HeadHidden, o.OutputDim);
        return Linear(g, g.Gelu(Linear(g, x, l1)), l2);
    }

    private static string MlpConcat(OnnxGraph g, TowerParameters p, ItemSageModelOptions o, string? fieldVectors,
        string? fieldPresent, string? vectors, string? vectorMask)
    {
        var parts = new List<string>();
        int inDim = 0;
        if (vectors is not null)
        {
            string masked = g.Mul(vectors, g.Unsqueeze(vectorMask!, 2)); // [B, M, I]
            if (o.ProjectionPerVectorSet)
            {
                parts.Add(g.Reshape(masked, 0, (long)o.MaxImages * o.ImageDim));
                inDim += o.MaxImages * o.ImageDim;
            }
            else
            {
                // Mean of the present vectors (zero when none).
                string count = g.Node("Max", [g.ReduceSum(vectorMask!, 1, keepDims: true), g.Scalar(1f)]);
                parts.Add(g.Div(g.ReduceSum(masked, 1, keepDims: false), count));
                inDim += o.ImageDim;
            }
        }
        if (fieldVectors is not null)
        {
            string present = g.Mul(fieldVectors, g.Unsqueeze(fieldPresent!, 2)); // absent field → zeros
            parts.Add(g.Reshape(present, 0, (long)o.TextFields * o.HashDim));
            inDim += o.TextFields * o.HashDim;
        }
        string x = parts.Count == 1 ? parts[0] : g.Concat(1, [.. parts]);
        return Head(g, p, o, x, inDim, layerNorm: false);
    }

    private static string Transformer(OnnxGraph g, TowerParameters p, ItemSageModelOptions o, string? fieldVectors,
        string? fieldPresent, string? vectors, string? vectorMask, string batchSource)
    {
        int d = o.DModel, s = o.SequenceLength, imageSlots = o.ImageDim > 0 ? o.MaxImages : 0;
        LinearWeights? textProj = o.TextFields > 0 ? LinearWeights.Read(p, o.HashDim, d) : null;
        int projections = o.ImageDim == 0 ? 0 : o.ProjectionPerVectorSet ? o.MaxImages : 1;
        var imageProj = new LinearWeights[projections];
        for (int i = 0; i < projections; i++) imageProj[i] = LinearWeights.Read(p, o.ImageDim, d);
        ReadOnlyMemory<float> cls = p.Next(d), slots = p.Next((s - 1) * d);

        // [B] from any input: Shape(x)[0:1].
        string batch = g.Slice(g.Node("Shape", [batchSource]), 0, 1, 0);
        string clsRow = g.Node("Expand", [g.Floats("cls", cls.Span, 1, 1, d), g.Concat(0, batch, g.Axes(1, d))]); // [B, 1, D]
        string ones = g.Node("Expand", [g.Floats("one", [1f], 1, 1), g.Concat(0, batch, g.Axes(1))]); // [B, 1]
        var rows = new List<string> { clsRow };
        var masks = new List<string> { ones };
        if (vectors is not null)
        {
            string projected;
            if (projections == 1)
            {
                projected = Linear(g, vectors, imageProj[0]); // [B, M, D]
            }
            else
            {
                // One projection per slot: [M, B, I] × [M, I, D] (batched MatMul) + [M, 1, D] → [B, M, D].
                var w = new float[projections * o.ImageDim * d];
                var b = new float[projections * d];
                for (int i = 0; i < projections; i++)
                {
                    imageProj[i].W.Span.CopyTo(w.AsSpan(i * o.ImageDim * d));
                    imageProj[i].B.Span.CopyTo(b.AsSpan(i * d));
                }
                string t = g.MatMul(g.Transpose(vectors, 1, 0, 2), g.Floats("W_sets", w, projections, o.ImageDim, d));
                projected = g.Transpose(g.Add(t, g.Floats("b_sets", b, projections, 1, d)), 1, 0, 2);
            }
            string withSlot = g.Add(projected, g.Floats("slot_vec", slots.Span[..(imageSlots * d)], imageSlots, d));
            rows.Add(g.Mul(withSlot, g.Unsqueeze(vectorMask!, 2)));
            masks.Add(vectorMask!);
        }
        if (fieldVectors is not null)
        {
            string projected = Linear(g, fieldVectors, textProj!.Value); // [B, F, D]
            string withSlot = g.Add(projected, g.Floats("slot_text", slots.Span[(imageSlots * d)..], o.TextFields, d));
            rows.Add(g.Mul(withSlot, g.Unsqueeze(fieldPresent!, 2)));
            masks.Add(fieldPresent!);
        }
        string x = g.Concat(1, [.. rows]); // [B, S, D]
        string mask = g.Concat(1, [.. masks]); // [B, S]
        string additive = g.Unsqueeze(g.Mul(g.Sub(mask, g.Scalar(1f)), g.Scalar(-MaskedScore)), 1, 2); // [B, 1, 1, S]: 0 or −1e9

        int heads = o.Heads, dh = d / heads;
        for (int l = 0; l < o.Layers; l++)
        {
            bool last = l == o.Layers - 1;
            NormWeights ln1 = NormWeights.Read(p, d);
            LinearWeights wq = LinearWeights.Read(p, d, d), wkv = LinearWeights.Read(p, d, 2 * d), wo = LinearWeights.Read(p, d, d);
            NormWeights ln2 = NormWeights.Read(p, d);
            LinearWeights w1 = LinearWeights.Read(p, d, o.FfnDim), w2 = LinearWeights.Read(p, o.FfnDim, d);

            string xn = LayerNorm(g, x, ln1);
            string xq = last ? g.Slice(xn, 0, 1, 1) : xn; // the last layer: [CLS] only
            string residual = last ? g.Slice(x, 0, 1, 1) : x;
            string q = g.Transpose(g.Reshape(Linear(g, xq, wq), 0, -1, heads, dh), 0, 2, 1, 3); // [B, H, Sq, dh]
            string kv = Linear(g, xn, wkv); // [B, S, 2D]
            string k = g.Transpose(g.Reshape(g.Slice(kv, 0, d, 2), 0, -1, heads, dh), 0, 2, 3, 1); // [B, H, dh, S]
            string v = g.Transpose(g.Reshape(g.Slice(kv, d, 2 * d, 2), 0, -1, heads, dh), 0, 2, 1, 3); // [B, H, S, dh]
            string scores = g.Add(g.Mul(g.MatMul(q, k), g.Scalar(1f / MathF.Sqrt(dh))), additive);
            string probs = g.Node("Softmax", [scores], null, ("axis", -1));
            string att = g.Reshape(g.Transpose(g.MatMul(probs, v), 0, 2, 1, 3), 0, -1, d); // [B, Sq, D]
            string h = g.Add(residual, Linear(g, att, wo));
            string ffn = Linear(g, g.Gelu(Linear(g, LayerNorm(g, h, ln2), w1)), w2);
            x = g.Add(h, ffn);
        }
        string clsOut = g.Reshape(x, -1, d); // [B, 1, D] → [B, D]
        return Head(g, p, o, clsOut, d, layerNorm: true);
    }
}
