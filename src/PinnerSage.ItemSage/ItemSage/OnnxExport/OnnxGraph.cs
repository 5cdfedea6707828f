using System.Runtime.InteropServices;
using Google.Protobuf;
using OnnxProto = global::Onnx;

namespace PinnerSage.ItemSage.OnnxExport;

/// <summary>A small builder of ONNX graphs over OnnxSharp's protobuf classes: nodes with fresh value names,
/// initialisers from spans, graph inputs and outputs. Only what the ItemSage export needs (opset 17 operators).</summary>
internal sealed class OnnxGraph
{
    /// <summary>ONNX tensor element types (onnx.proto TensorProto.DataType).</summary>
    public const int Float = 1, Int64 = 7, Bool = 9;

    private readonly OnnxProto.GraphProto _graph = new();
    private int _next;

    public OnnxGraph(string name) => _graph.Name = name;

    public OnnxProto.GraphProto Graph => _graph;

    /// <summary>Bytes of all initialisers so far (the protobuf message limit is 2 GB).</summary>
    public long InitializerBytes { get; private set; }

    private string Fresh(string hint) => $"{hint}_{_next++}";

    /// <summary>Declares a graph input; a dimension is a symbolic name (string) or a fixed size (int).</summary>
    public string Input(string name, int elementType, params object[] shape)
    {
        _graph.Input.Add(ValueInfo(name, elementType, shape));
        return name;
    }

    /// <summary>Declares <paramref name="value"/> as a graph output named <paramref name="name"/>.</summary>
    public void Output(string value, string name, int elementType, params object[] shape)
    {
        Node("Identity", [value], name);
        _graph.Output.Add(ValueInfo(name, elementType, shape));
    }

    private static OnnxProto.ValueInfoProto ValueInfo(string name, int elementType, object[] shape)
    {
        var tensorShape = new OnnxProto.TensorShapeProto();
        foreach (object d in shape)
        {
            var dim = new OnnxProto.TensorShapeProto.Types.Dimension();
            if (d is string s) dim.DimParam = s;
            else dim.DimValue = Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture);
            tensorShape.Dim.Add(dim);
        }
        return new OnnxProto.ValueInfoProto
        {
            Name = name,
            Type = new OnnxProto.TypeProto
            {
                TensorType = new OnnxProto.TypeProto.Types.Tensor { ElemType = elementType, Shape = tensorShape },
            },
        };
    }

    /// <summary>A float initialiser (copied, stored as raw little-endian bytes).</summary>
    public string Floats(string hint, ReadOnlySpan<float> data, params long[] dims)
    {
        long count = 1;
        foreach (long d in dims) count *= d;
        if (count != data.Length) throw new ArgumentException($"{hint}: {data.Length} values for shape [{string.Join(", ", dims)}]");
        return Initializer(hint, Float, MemoryMarshal.AsBytes(data), dims);
    }

    /// <summary>An int64 initialiser.</summary>
    public string Longs(string hint, ReadOnlySpan<long> data, params long[] dims) =>
        Initializer(hint, Int64, MemoryMarshal.AsBytes(data), dims);

    /// <summary>A float scalar constant (rank 0).</summary>
    public string Scalar(float value) => Initializer("c", Float, MemoryMarshal.AsBytes(new[] { value }.AsSpan()), []);

    /// <summary>A 1-D int64 constant (axes, shapes, slice bounds).</summary>
    public string Axes(params long[] values) => Initializer("i", Int64, MemoryMarshal.AsBytes(values.AsSpan()), values.Length);

    private string Initializer(string hint, int elementType, ReadOnlySpan<byte> bytes, params long[] dims)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw data is little-endian");
        string name = Fresh(hint);
        var t = new OnnxProto.TensorProto { Name = name, DataType = elementType, RawData = ByteString.CopyFrom(bytes) };
        t.Dims.AddRange(dims);
        _graph.Initializer.Add(t);
        InitializerBytes += bytes.Length;
        return name;
    }

    /// <summary>Adds a node and returns its (single) output's name.</summary>
    public string Node(string op, string[] inputs, string? output = null, params (string Name, object Value)[] attributes)
    {
        output ??= Fresh(op.ToLowerInvariant());
        var node = new OnnxProto.NodeProto { OpType = op, Name = Fresh("n_" + op) };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        foreach ((string name, object value) in attributes)
        {
            var a = new OnnxProto.AttributeProto { Name = name };
            switch (value)
            {
                case float f:
                    a.Type = OnnxProto.AttributeProto.Types.AttributeType.Float;
                    a.F = f;
                    break;
                case int i:
                    a.Type = OnnxProto.AttributeProto.Types.AttributeType.Int;
                    a.I = i;
                    break;
                case long[] ints:
                    a.Type = OnnxProto.AttributeProto.Types.AttributeType.Ints;
                    a.Ints.AddRange(ints);
                    break;
                default:
                    throw new ArgumentException($"unsupported attribute type {value.GetType().Name}");
            }
            node.Attribute.Add(a);
        }
        _graph.Node.Add(node);
        return output;
    }

    public string Add(string a, string b) => Node("Add", [a, b]);

    public string Sub(string a, string b) => Node("Sub", [a, b]);

    public string Mul(string a, string b) => Node("Mul", [a, b]);

    public string Div(string a, string b) => Node("Div", [a, b]);

    public string MatMul(string a, string b) => Node("MatMul", [a, b]);

    public string Gather(string data, string indices) => Node("Gather", [data, indices], null, ("axis", 0));

    public string Reshape(string x, params long[] shape) => Node("Reshape", [x, Axes(shape)]);

    public string Transpose(string x, params long[] perm) => Node("Transpose", [x], null, ("perm", perm));

    public string Unsqueeze(string x, params long[] axes) => Node("Unsqueeze", [x, Axes(axes)]);

    public string Concat(int axis, params string[] xs) => Node("Concat", xs, null, ("axis", axis));

    /// <summary>x[..., start:end, ...] along <paramref name="axis"/>.</summary>
    public string Slice(string x, long start, long end, long axis) => Node("Slice", [x, Axes(start), Axes(end), Axes(axis)]);

    public string ReduceSum(string x, long axis, bool keepDims) =>
        Node("ReduceSum", [x, Axes(axis)], null, ("keepdims", keepDims ? 1 : 0));

    /// <summary>LayerNormalization over the last axis (opset 17) with the given gain and bias initialisers.</summary>
    public string LayerNorm(string x, string gain, string bias, float epsilon) =>
        Node("LayerNormalization", [x, gain, bias], null, ("axis", -1), ("epsilon", epsilon));

    /// <summary>x·W + b with W [In, Out] and b [Out] initialisers.</summary>
    public string Linear(string x, string w, string b) => Add(MatMul(x, w), b);

    /// <summary>GELU, tanh approximation, spelled out node by node exactly as <c>Gelu.Forward</c> computes it
    /// (the Gelu operator needs opset 20, which older runtimes lack): ½x(1 + tanh(√(2/π)·x·(1 + 0.044715x²))).</summary>
    public string Gelu(string x)
    {
        string t = Mul(x, x);
        t = Mul(t, Scalar(0.044715f));
        t = Add(t, Scalar(1f));
        t = Mul(t, x);
        t = Mul(t, Scalar(0.7978845608028654f));
        t = Node("Tanh", [t]);
        string y = Add(t, Scalar(1f));
        y = Mul(y, x);
        return Mul(y, Scalar(0.5f));
    }

    /// <summary>Rows of x [B, D] divided by max(‖row‖₂, 1e-12), as <c>L2Normalize.Forward</c>.</summary>
    public string L2Normalize(string x)
    {
        string norm = Node("Sqrt", [ReduceSum(Mul(x, x), 1, keepDims: true)]);
        norm = Node("Max", [norm, Scalar(1e-12f)]);
        return Div(x, norm);
    }

    /// <summary>The graph as a model (IR version 8, opset 17).</summary>
    public OnnxProto.ModelProto ToModel(string producerVersion, string docString)
    {
        var model = new OnnxProto.ModelProto
        {
            IrVersion = 8,
            ProducerName = "PinnerSage.ItemSage",
            ProducerVersion = producerVersion,
            Domain = "pinnersage.itemsage",
            ModelVersion = 1,
            DocString = docString,
            Graph = _graph,
        };
        model.OpsetImport.Add(new OnnxProto.OperatorSetIdProto { Domain = "", Version = Opset });
        return model;
    }

    /// <summary>The operator set the export targets.</summary>
    public const int Opset = 17;
}
