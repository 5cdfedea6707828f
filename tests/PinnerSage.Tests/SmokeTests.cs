namespace PinnerSage.Tests;

public sealed class SmokeTests
{
    [Fact]
    public void DataFormatExceptionNamesFileLineAndField()
    {
        var e = new PinnerSage.IO.DataFormatException("a.tsv", 7, "timestamp", "expected an integer");
        Assert.Equal("a.tsv:7: field 'timestamp': expected an integer", e.Message);
    }
}
