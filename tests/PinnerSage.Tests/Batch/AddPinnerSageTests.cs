using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PinnerSage.Batch;
using PinnerSage.Hosting;
using PinnerSage.IO;
using PinnerSage.Profiles;
using PinnerSage.Storage;
using PinnerSage.Tests.Profiles;

namespace PinnerSage.Tests.Batch;

/// <summary>The one entry point for an application: AddPinnerSage registers the options (validated once), the store
/// and the pipeline; profiles from in-memory actions land in the store.</summary>
public sealed class AddPinnerSageTests
{
    [Fact]
    public async Task The_registered_pipeline_builds_profiles_from_memory_into_the_configured_store()
    {
        TestWorld world = TestWorld.Create(users: 80, seed: 41);
        using var dir = new TempDir();
        var services = new ServiceCollection();
        services.AddSingleton(world.Items); // the application's own vectors, from memory
        services.AddPinnerSage(o =>
        {
            o.Store = dir.File("profiles.db");
            o.AutoAlphaScale = 1;
        });
        await using ServiceProvider provider = services.BuildServiceProvider();
        ProfilePipeline pipeline = provider.GetRequiredService<ProfilePipeline>();
        IProfileStore store = provider.GetRequiredService<IProfileStore>();
        Assert.IsType<SqliteProfileStore>(store);
        Assert.Equal(AutoAlpha.Resolve(world.Items, normalizeVectors: true), pipeline.ProfileOptions.Alpha);

        BatchSummary s = await pipeline.RunIntoStoreAsync(
            ActionSource.FromEnumerable([.. world.Actions.Select(a => new UserAction(a.User, a.Item, a.Time, a.Action))]), store);
        Assert.True(s.UsersWritten > 60);
        Assert.Equal(s.UsersWritten, store.CountUsers());
        Assert.Equal(provider.GetRequiredService<IOptions<PinnerSageOptions>>().Value.Profile.DecayLambda, pipeline.ProfileOptions.DecayLambda);
    }

    [Fact]
    public void Bad_options_are_refused_once_naming_the_option_and_a_missing_embeddings_path_is_reported()
    {
        var services = new ServiceCollection();
        services.AddPinnerSage(o => o.Profile = new ProfileOptions { WindowDays = -3 });
        using ServiceProvider provider = services.BuildServiceProvider();
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<ProfilePipeline>());
        Assert.Contains("WindowDays", e.Message);

        var services2 = new ServiceCollection();
        services2.AddPinnerSage(o => o.AutoAlphaScale = null);
        using ServiceProvider provider2 = services2.BuildServiceProvider();
        e = Assert.Throws<OptionsValidationException>(() => provider2.GetRequiredService<ItemEmbeddings>());
        Assert.Contains("EmbeddingsPath", e.Message);
    }
}
