using System.CommandLine;
using System.Globalization;
using PinnerSage.Cli.Infrastructure;
using PinnerSage.ItemSage.OnnxExport;
using Spectre.Console;

namespace PinnerSage.Cli.Commands;

/// <summary>`pinnersage itemsage export --model MODEL --onnx OUT.onnx`: the trained tower as an ONNX graph (model inputs →
/// L2-normalised embedding) and the feature pipeline's specification beside it (OUT.features.json).</summary>
internal static class ItemSageExportCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder written by itemsage train.", Required = true };
        var onnx = new Option<string>("--onnx") { Description = "ONNX file to write (opset 17; any ONNX runtime, CPU or GPU).", Required = true };
        var features = new Option<string?>("--features")
        { Description = "Feature specification to write (JSON: text fields, tokenisation, vocabulary, hash parameters, vector sets, input names and shapes). Default: OUT.features.json beside the ONNX file." };
        var cmd = new Command("export", "Export a trained ItemSage tower to ONNX with the specification of its inputs, so another stack can featurise items and serve the model.")
        {
            model, onnx, features,
        };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            ItemSageOnnxExport result = ItemSageOnnxExporter.Export(pr.GetValue(model)!, pr.GetValue(onnx)!, pr.GetValue(features));
            AnsiConsole.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"{result.Tower} tower → {result.OnnxPath} ({result.Bytes:N0} bytes; inputs {string.Join(", ", result.Inputs)} → embedding [batch, {result.OutputDim}]) + {result.FeaturesPath}")));
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
