using Xunit;

namespace PSParallel.Tests;

/// <summary>
/// Which contracts build the module loads: the highest netN.0 in contracts/ not above the running
/// .NET's major version (PowerShell 7.4 runs on .NET 8, 7.5 on 9, 7.6 on 10).
/// </summary>
public sealed class ContractsLoaderTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "psparallel-contracts-" + Guid.NewGuid().ToString("N"));

    public ContractsLoaderTests()
    {
        foreach (string build in new[] { "net8.0", "net10.0" }) AddBuild(build);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string AddBuild(string name, bool withFile = true)
    {
        string dir = Path.Combine(_folder, name);
        Directory.CreateDirectory(dir);
        string file = Path.Combine(dir, ContractsLoader.ContractsAssembly + ".dll");
        if (withFile) File.WriteAllBytes(file, Array.Empty<byte>());
        return file;
    }

    private string Build(string name) => Path.Combine(_folder, name, ContractsLoader.ContractsAssembly + ".dll");

    [Theory]
    [InlineData(8, "net8.0")]
    [InlineData(9, "net8.0")]
    [InlineData(10, "net10.0")]
    [InlineData(11, "net10.0")]
    public void Chooses_the_highest_build_not_above_the_runtime(int runtimeMajor, string expected) =>
        Assert.Equal(Build(expected), ContractsLoader.Choose(_folder, runtimeMajor));

    [Fact]
    public void Chooses_nothing_for_a_runtime_older_than_every_build() =>
        Assert.Null(ContractsLoader.Choose(_folder, 7));

    [Fact]
    public void Chooses_nothing_without_the_folder() =>
        Assert.Null(ContractsLoader.Choose(Path.Combine(_folder, "missing"), 10));

    [Fact]
    public void Ignores_folders_that_are_not_a_target_framework_or_hold_no_contracts()
    {
        AddBuild("net9.0", withFile: false);
        AddBuild("net10.0-windows");
        AddBuild("net12");
        AddBuild("netstandard2.0");
        Assert.Equal(Build("net8.0"), ContractsLoader.Choose(_folder, 9));
        Assert.Equal(Build("net10.0"), ContractsLoader.Choose(_folder, 12));
    }

    [Fact]
    public void Chooses_a_build_added_later_for_its_runtime()
    {
        string net9 = AddBuild("net9.0");
        Assert.Equal(net9, ContractsLoader.Choose(_folder, 9));
        Assert.Equal(Build("net10.0"), ContractsLoader.Choose(_folder, 10));
    }
}
