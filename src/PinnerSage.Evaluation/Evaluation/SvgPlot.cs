using System.Globalization;
using System.Net;
using System.Text;

namespace PinnerSage.Evaluation;

/// <summary>A linear map from a data interval to a pixel interval, with "nice" tick values.</summary>
/// <remarks>Ticks: Heckbert, "Nice numbers for graph labels", Graphics Gems (1990), pp. 61–63: a step of 1, 2 or 5 × 10^k
/// giving about the requested number of ticks, and the domain widened outward to whole steps.</remarks>
internal readonly record struct LinearScale(double DomainMin, double DomainMax, double RangeMin, double RangeMax)
{
    /// <summary>Pixel coordinate of <paramref name="value"/>.</summary>
    public double Map(double value)
        => DomainMax == DomainMin ? RangeMin
         : RangeMin + (value - DomainMin) / (DomainMax - DomainMin) * (RangeMax - RangeMin);

    /// <summary>A scale over [min, max] (widened to include 0 when <paramref name="includeZero"/>, then to whole nice
    /// steps) and its ticks.</summary>
    public static (LinearScale Scale, double[] Ticks) Nice(double min, double max, double rangeMin, double rangeMax,
                                                           bool includeZero, int ticks = 5)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max)) (min, max) = (0, 1);
        if (includeZero)
        {
            min = Math.Min(min, 0);
            max = Math.Max(max, 0);
        }
        if (max - min < 1e-12 * Math.Max(1, Math.Abs(max)))
        {
            double pad = Math.Abs(max) > 0 ? Math.Abs(max) * 0.5 : 1;
            (min, max) = includeZero && min == 0 ? (0, max + pad) : (min - pad, max + pad);
        }
        double step = NiceNumber((max - min) / Math.Max(1, ticks - 1), round: true);
        double low = Math.Floor(min / step) * step, high = Math.Ceiling(max / step) * step;
        int count = (int)Math.Round((high - low) / step) + 1;
        var values = new double[count];
        for (int t = 0; t < count; t++) values[t] = Math.Round((low + t * step) / step) * step; // no 0.30000000000000004
        return (new LinearScale(low, high, rangeMin, rangeMax), values);
    }

    /// <summary>A log(1 + x) scale for counts ≥ 0 spanning orders of magnitude: the domain is log10(1 + x), ticks at
    /// 0, 1, 2, 5, 10, 20, 50, … (in transformed units; label them with <see cref="FromLog1p"/>).</summary>
    public static (LinearScale Scale, double[] Ticks) Log1p(double max, double rangeMin, double rangeMax)
    {
        var ticks = new List<double> { 0 };
        double top = 1;
        for (double decade = 1; ; decade *= 10)
        {
            foreach (double m in (ReadOnlySpan<double>)[1, 2, 5])
            {
                top = m * decade;
                ticks.Add(ToLog1p(top));
                if (top >= max) break;
            }
            if (top >= max) break;
        }
        return (new LinearScale(0, ticks[^1], rangeMin, rangeMax), [.. ticks]);
    }

    /// <summary>log10(1 + x).</summary>
    public static double ToLog1p(double x) => Math.Log10(1 + x);

    /// <summary>Inverse of <see cref="ToLog1p"/>, rounded to a whole count (for tick labels).</summary>
    public static double FromLog1p(double t) => Math.Round(Math.Pow(10, t) - 1);

    private static double NiceNumber(double x, bool round)
    {
        double exponent = Math.Floor(Math.Log10(x));
        double fraction = x / Math.Pow(10, exponent);
        double nice = round
            ? fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
            : fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
        return nice * Math.Pow(10, exponent);
    }
}

/// <summary>A tiny SVG writer for the report's charts: shapes, escaped text, axes with ticks and a legend. Coordinates are
/// written with invariant culture and at most two decimals.</summary>
internal sealed class SvgPlot
{
    /// <summary>Series colours (colour-blind-safe Okabe–Ito palette, our choice).</summary>
    public static readonly string[] Palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9"];

    private readonly StringBuilder _sb = new();

    /// <summary>Starts an SVG of the given size with an accessible title.</summary>
    public SvgPlot(double width, double height, string title)
    {
        Width = width;
        Height = height;
        _sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{F(width)}\" height=\"{F(height)}\" ")
           .Append($"viewBox=\"0 0 {F(width)} {F(height)}\" role=\"img\" aria-label=\"{Escape(title)}\">")
           .Append($"<title>{Escape(title)}</title>");
    }

    public double Width { get; }
    public double Height { get; }

    /// <summary>A number as an SVG coordinate.</summary>
    public static string F(double v) => Math.Round(v, 2).ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>Text escaped for HTML/XML content and attribute values.</summary>
    public static string Escape(string text) => WebUtility.HtmlEncode(text);

    /// <summary>A rectangle; <paramref name="attributes"/> is raw (callers escape values).</summary>
    public void Rect(double x, double y, double width, double height, string fill, string attributes = "", string? tooltip = null)
    {
        _sb.Append($"<rect x=\"{F(x)}\" y=\"{F(y)}\" width=\"{F(Math.Max(0, width))}\" height=\"{F(Math.Max(0, height))}\" fill=\"{fill}\"");
        if (attributes.Length > 0) _sb.Append(' ').Append(attributes);
        Close("rect", tooltip);
    }

    public void Line(double x1, double y1, double x2, double y2, string stroke, double width = 1, string attributes = "")
    {
        _sb.Append($"<line x1=\"{F(x1)}\" y1=\"{F(y1)}\" x2=\"{F(x2)}\" y2=\"{F(y2)}\" stroke=\"{stroke}\" stroke-width=\"{F(width)}\"");
        if (attributes.Length > 0) _sb.Append(' ').Append(attributes);
        _sb.Append("/>");
    }

    public void Circle(double cx, double cy, double r, string fill, string attributes = "", string? tooltip = null)
    {
        _sb.Append($"<circle cx=\"{F(cx)}\" cy=\"{F(cy)}\" r=\"{F(r)}\" fill=\"{fill}\"");
        if (attributes.Length > 0) _sb.Append(' ').Append(attributes);
        Close("circle", tooltip);
    }

    public void Polyline(IReadOnlyList<(double X, double Y)> points, string stroke, string attributes = "")
    {
        _sb.Append("<polyline fill=\"none\" stroke=\"").Append(stroke).Append("\" stroke-width=\"2\" points=\"");
        for (int p = 0; p < points.Count; p++)
            _sb.Append(p > 0 ? " " : "").Append(F(points[p].X)).Append(',').Append(F(points[p].Y));
        _sb.Append('"');
        if (attributes.Length > 0) _sb.Append(' ').Append(attributes);
        _sb.Append("/>");
    }

    /// <summary>Escaped text; <paramref name="anchor"/> is start, middle or end.</summary>
    public void Text(double x, double y, string text, string anchor = "start", double size = 12, string attributes = "")
    {
        _sb.Append($"<text x=\"{F(x)}\" y=\"{F(y)}\" text-anchor=\"{anchor}\" font-size=\"{F(size)}\"");
        if (attributes.Length > 0) _sb.Append(' ').Append(attributes);
        _sb.Append('>').Append(Escape(text)).Append("</text>");
    }

    /// <summary>A horizontal axis at pixel y with tick marks, tick labels, grid lines up to <paramref name="gridTop"/>
    /// and a title below.</summary>
    public void XAxis(LinearScale scale, IReadOnlyList<double> ticks, double y, double gridTop, string title,
                      Func<double, string> format)
    {
        Line(scale.RangeMin, y, scale.RangeMax, y, "#333");
        foreach (double t in ticks)
        {
            double x = scale.Map(t);
            Line(x, gridTop, x, y, "#e3e3e3", 1, "class=\"grid\"");
            Line(x, y, x, y + 5, "#333");
            Text(x, y + 18, format(t), "middle", 11, "class=\"tick\"");
        }
        Text((scale.RangeMin + scale.RangeMax) / 2, y + 36, title, "middle", 12, "class=\"axis-title\"");
    }

    /// <summary>A vertical axis at pixel x with ticks, labels, grid lines to <paramref name="gridRight"/> and a rotated title.</summary>
    public void YAxis(LinearScale scale, IReadOnlyList<double> ticks, double x, double gridRight, string title,
                      Func<double, string> format)
    {
        Line(x, scale.RangeMin, x, scale.RangeMax, "#333");
        foreach (double t in ticks)
        {
            double y = scale.Map(t);
            Line(x, y, gridRight, y, "#e3e3e3", 1, "class=\"grid\"");
            Line(x - 5, y, x, y, "#333");
            Text(x - 8, y + 4, format(t), "end", 11, "class=\"tick\"");
        }
        double mid = (scale.RangeMin + scale.RangeMax) / 2;
        Text(x - 46, mid, title, "middle", 12, $"class=\"axis-title\" transform=\"rotate(-90 {F(x - 46)} {F(mid)})\"");
    }

    /// <summary>A legend: one colour swatch and label per entry, in a row starting at (x, y).</summary>
    public void Legend(double x, double y, IReadOnlyList<(string Label, string Colour)> entries)
    {
        _sb.Append("<g class=\"legend\">");
        foreach ((string label, string colour) in entries)
        {
            Rect(x, y - 10, 12, 12, colour);
            Text(x + 17, y, label, "start", 12);
            x += 30 + 7.5 * label.Length;
        }
        _sb.Append("</g>");
    }

    /// <summary>The finished SVG element.</summary>
    public override string ToString() => _sb.ToString() + "</svg>";

    private void Close(string element, string? tooltip)
    {
        if (tooltip is null)
        {
            _sb.Append("/>");
            return;
        }
        _sb.Append("><title>").Append(Escape(tooltip)).Append("</title></").Append(element).Append('>');
    }
}
