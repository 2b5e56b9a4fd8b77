using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.Vfio;
using static IommuKit.Tests.Vfio.VfioTestHelpers;

namespace IommuKit.Tests.Vfio;

/// <summary>The kernel-version rules a <see cref="VfioContainer"/> switches (pinned by conformance/golden/*.json).</summary>
public sealed class VfioKernelRulesTests
{
    private static VfioContainer Profiled(VfioKernelRules rules, bool intelDomain = false)
    {
        var physical = new PhysicalMemory();
        var c = new VfioContainer(new HostMemory(physical), VfioContainer.DefaultDmaEntryLimit, rules);
        Assert.Equal(Errno.Ok, c.SetIommu(VfioIommuType.Type1v2));
        if (intelDomain)
        {
            Assert.Equal(Errno.Ok, c.AttachDomain(new IommuDomain(new FrameAllocator(physical), new IommuDomainOptions
            {
                Aperture = R(0, (1UL << 39) - 1),
                PageSizes = PageSizes.X86,
                Reserved = [R(0xfee0_0000, 0xfeef_ffff)],
                EnforceCacheCoherency = false,
            })));
        }

        return c;
    }

    public static TheoryData<string, Errno> WrapCases() => new()
    {
        { "newest", Errno.EOVERFLOW },
        { "6.12", Errno.EINVAL },
        { "6.1", Errno.EINVAL },
    };

    [Theory]
    [MemberData(nameof(WrapCases))]
    public void Wrap_of_iova_plus_size_is_EINVAL_before_6_18_rc4_and_EOVERFLOW_after(string kernel, Errno expected)
    {
        VfioContainer c = Profiled(VfioKernelRules.FromName(kernel)!);
        Assert.Equal(expected, c.Map(LastPage, 2 * P));
        Assert.Equal(expected, c.Map(0x10_0000, 2 * P, vaddr: LastPage));
        Assert.Equal(expected, c.Unmap(LastPage, 2 * P).Errno);
        Assert.Equal(0, c.MappingCount);
        Assert.Equal(Errno.Ok, c.Map(LastPage, P)); // the last page itself is no wrap on any kernel
    }

    [Theory]
    [InlineData("newest", 120u)]
    [InlineData("6.12", 120u)]
    [InlineData("6.1", 116u)]
    public void Get_info_needed_argsz_pads_the_dma_avail_cap_from_6_12_on(string kernel, uint needed)
    {
        VfioContainer c = Profiled(VfioKernelRules.FromName(kernel)!, intelDomain: true);
        var info = new VfioIommuInfo(16);
        Assert.Equal(Errno.Ok, c.GetInfo(info));
        Assert.Equal(needed, info.Argsz); // 24 + 32 (migration) + 12 or 16 (DMA_AVAIL) + 16 + 2 * 16 (two ranges)
        Assert.Equal(0u, info.CapOffset);

        var full = new VfioIommuInfo(needed);
        Assert.Equal(Errno.Ok, c.GetInfo(full));
        Assert.Equal(3, full.Caps.Count);
        Assert.Equal(24u + 32 + needed - 120 + 16, full.Find<VfioInfoCapIovaRange>()!.Offset);
    }

    [Theory]
    [InlineData("newest", 0)]
    [InlineData("6.12", 1)]
    [InlineData("6.1", 1)]
    public void Type1_nesting_extension_is_offered_up_to_6_12(string kernel, int expected)
    {
        Assert.Equal(expected, Profiled(VfioKernelRules.FromName(kernel)!).CheckExtension(VfioExtension.Type1NestingIommu));
    }

    [Fact]
    public void Dma_cc_iommu_is_0_when_a_domain_does_not_enforce_cache_coherency()
    {
        Assert.Equal(1, Profiled(VfioKernelRules.Newest).CheckExtension(VfioExtension.DmaCcIommu)); // no domain: 1
        Assert.Equal(0, Profiled(VfioKernelRules.Newest, intelDomain: true).CheckExtension(VfioExtension.DmaCcIommu));
    }

    [Fact]
    public void Kernel_rules_default_to_newest_and_unknown_names_are_null()
    {
        Assert.Same(VfioKernelRules.Newest, Container().Rules);
        Assert.Null(VfioKernelRules.FromName("5.15"));
        Assert.Equal("6.12", VfioKernelRules.Linux6_12.ToString());
    }
}
