using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using PinnerSage.Batch;
using PinnerSage.Hosting;
using PinnerSage.IO;
using PinnerSage.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers PinnerSage with dependency injection.</summary>
public static class PinnerSageServiceCollectionExtensions
{
    /// <summary>Registers <see cref="PinnerSageOptions"/> (options pattern, validated once when first read), the
    /// <see cref="IProfileStore"/> it names, the <see cref="ItemEmbeddings"/> (unless the application registered its
    /// own) and the <see cref="ProfilePipeline"/>, all singletons disposed with the container.</summary>
    /// <param name="services">The collection.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddPinnerSage(this IServiceCollection services, Action<PinnerSageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<PinnerSageOptions>().Configure(configure);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PinnerSageOptions>, PinnerSageOptionsValidator>());
        services.TryAddSingleton<IProfileStore>(sp => ProfileStores.Open(sp.GetRequiredService<IOptions<PinnerSageOptions>>().Value.Store));
        services.TryAddSingleton(sp =>
        {
            PinnerSageOptions o = sp.GetRequiredService<IOptions<PinnerSageOptions>>().Value;
            return ItemEmbeddings.Load(o.EmbeddingsPath ?? throw new OptionsValidationException(nameof(PinnerSageOptions), typeof(PinnerSageOptions),
                ["EmbeddingsPath is required when no ItemEmbeddings is registered."]), o.IdsPath);
        });
        services.TryAddSingleton(sp => new ProfilePipeline(sp.GetRequiredService<ItemEmbeddings>(),
                                                           sp.GetRequiredService<IOptions<PinnerSageOptions>>().Value.ToPipelineOptions()));
        return services;
    }

    private sealed class PinnerSageOptionsValidator : IValidateOptions<PinnerSageOptions>
    {
        public ValidateOptionsResult Validate(string? name, PinnerSageOptions options)
        {
            try
            {
                options.Validate();
                return ValidateOptionsResult.Success;
            }
            catch (ArgumentException e)
            {
                return ValidateOptionsResult.Fail(e.Message);
            }
        }
    }
}
