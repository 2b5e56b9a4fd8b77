using IommuKit.Addressing;
using IommuKit.Scenarios.Yaml;

namespace IommuKit.Scenarios.Parsing;

/// <summary>Reads the top level of a scenario file (everything but the steps) into a <see cref="ScenarioDocument"/>.</summary>
internal sealed class DocumentReader
{
    private static readonly string[] TopKeys =
        ["name", "description", "iommu", "container", "host-memory", "machine", "guest-iommu", "devices", "steps"];

    private static readonly string[] IommuKeys = ["format", "page-sizes", "aperture", "reserved", "iotlb"];
    private static readonly string[] IotlbKeys = ["entries", "ways"];
    private static readonly string[] ContainerKeys = ["kind", "dma-entry-limit", "domain", "kernel"];
    private static readonly string[] HostMemoryKeys = ["vaddr", "size", "perm"];
    private static readonly string[] MachineKeys = ["regions", "listener"];
    private static readonly string[] GuestIommuKeys = ["format", "caching-mode"];
    private static readonly string[] DeviceKeys = ["name", "behind"];

    private readonly string _file;

    public DocumentReader(string file) => _file = file;

    public ScenarioDocument Read(YamlNode? root)
    {
        if (root is null or YamlScalar { IsNull: true })
        {
            throw new ScenarioException(new SourcePosition(_file, 1, 1), "empty scenario file: expected a map with 'steps'");
        }

        if (root is not YamlMap map)
        {
            throw new ScenarioException(root.Position, $"the top level must be a map with 'steps', found {root.KindName}");
        }

        var fields = new MapFields(map, "the top level", TopKeys);
        var sections = new Dictionary<string, SourcePosition>(StringComparer.Ordinal);
        foreach (string key in ScenarioDocument.MachineSections)
        {
            if (fields.Has(key))
            {
                sections[key] = fields.KeyPosition(key);
            }
        }

        GuestIommuConfig? guestIommu = fields.Optional("guest-iommu") is { } g ? ReadGuestIommu(g) : null;
        IReadOnlyList<DeviceConfig> devices = fields.Optional("devices") is { } d ? ReadDevices(d, guestIommu is not null) : [];
        var steps = new StepReader(devices.Select(x => x.Name).ToHashSet(StringComparer.Ordinal));

        return new ScenarioDocument
        {
            File = _file,
            Position = map.Position,
            Name = fields.Optional("name") is { } n ? OptionalText(n, "name") : null,
            Description = fields.Optional("description") is { } desc ? OptionalText(desc, "description") : null,
            Iommu = fields.Optional("iommu") is { } i ? ReadIommu(i) : IommuConfig.Default,
            Container = fields.Optional("container") is { } c ? ReadContainer(c) : ContainerConfig.Default,
            HostMemory = fields.Optional("host-memory") is { } h ? ReadHostMemory(h) : HostMemoryRegion.Default,
            Machine = fields.Optional("machine") is { } m ? ReadMachine(m) : null,
            GuestIommu = guestIommu,
            Devices = devices,
            Steps = steps.ReadList(fields.Required("steps"), "steps"),
            Sections = sections,
        };
    }

    private static string? OptionalText(YamlNode node, string what) =>
        node is YamlScalar { IsNull: true } ? null : Values.Text(node, what);

    private static IommuConfig ReadIommu(YamlNode node)
    {
        var fields = new MapFields(Values.Map(node, "iommu"), "iommu", IommuKeys);
        IommuFormat format = fields.Optional("format") is { } f
            ? Values.Enum(f, ScenarioNames.IommuFormats, "iommu.format")
            : IommuFormat.X86Sl4Level;

        PageSizes? pageSizes = null;
        if (fields.Optional("page-sizes") is { } ps)
        {
            YamlSequence list = Values.List(ps, "iommu.page-sizes");
            ulong bitmap = 0;
            foreach (YamlNode item in list.Items)
            {
                ulong size = Values.PageSize(item, "iommu.page-sizes");
                if ((bitmap & size) != 0)
                {
                    throw new ScenarioException(item.Position, $"iommu.page-sizes: {ScenarioNumber.Format(size)} is given twice");
                }

                bitmap |= size;
            }

            if (bitmap == 0)
            {
                throw new ScenarioException(ps.Position, "iommu.page-sizes must name at least one size");
            }

            pageSizes = new PageSizes(bitmap);
        }

        IovaRange? aperture = fields.Optional("aperture") is { } a ? Values.InclusiveRange(a, "iommu.aperture") : null;
        IReadOnlyList<IovaRange> reserved = fields.Optional("reserved") is { } r
            ? Values.List(r, "iommu.reserved").Items.Select(x => Values.InclusiveRange(x, "iommu.reserved")).ToArray()
            : IommuConfig.DefaultReserved;

        IotlbConfig iotlb = IotlbConfig.Default;
        if (fields.Optional("iotlb") is { } t)
        {
            var iotlbFields = new MapFields(Values.Map(t, "iommu.iotlb"), "iommu.iotlb", IotlbKeys);
            iotlb = new IotlbConfig(
                iotlbFields.Optional("entries") is { } e ? Values.Int32(e, "iommu.iotlb.entries", 1, 1 << 24) : iotlb.Entries,
                iotlbFields.Optional("ways") is { } w ? Values.Int32(w, "iommu.iotlb.ways", 1, 1 << 24) : iotlb.Ways);
        }

        return new IommuConfig(format, pageSizes, aperture, reserved, iotlb);
    }

    private static ContainerConfig ReadContainer(YamlNode node)
    {
        var fields = new MapFields(Values.Map(node, "container"), "container", ContainerKeys);
        ContainerConfig d = ContainerConfig.Default;
        ulong limit = d.DmaEntryLimit;
        if (fields.Optional("dma-entry-limit") is { } l)
        {
            limit = Values.Address(l, "container.dma-entry-limit");
            if (limit > uint.MaxValue)
            {
                throw new ScenarioException(l.Position, "container.dma-entry-limit must fit in 32 bits (an unsigned int module parameter)");
            }
        }

        return new ContainerConfig(
            fields.Optional("kind") is { } k ? Values.Enum(k, ScenarioNames.ContainerKinds, "container.kind") : d.Kind,
            limit,
            fields.Optional("domain") is { } dom ? Values.Bool(dom, "container.domain") : d.Domain,
            fields.Optional("kernel") is { } kv ? Values.Enum(kv, ScenarioNames.KernelVersions, "container.kernel") : d.Kernel);
    }

    private static HostMemoryRegion[] ReadHostMemory(YamlNode node)
    {
        YamlSequence list = Values.List(node, "host-memory");
        var regions = new HostMemoryRegion[list.Items.Count];
        for (int i = 0; i < regions.Length; i++)
        {
            var fields = new MapFields(Values.Map(list.Items[i], "a host-memory entry"), "a host-memory entry", HostMemoryKeys);
            ulong vaddr = Values.Address(fields.Required("vaddr"), "host-memory.vaddr");
            YamlNode sizeNode = fields.Required("size");
            UInt128 size = Values.Size(sizeNode, "host-memory.size");
            if (!IovaRange.TryFromStartSize(vaddr, size, out _))
            {
                throw new ScenarioException(sizeNode.Position, size == 0
                    ? "host-memory.size must be at least 1"
                    : $"host-memory: vaddr {ScenarioNumber.Format(vaddr)} + size {ScenarioNumber.Format(size)} passes 2^64");
            }

            AccessPermissions perm = fields.Optional("perm") is { } p
                ? Values.Enum(p, ScenarioNames.Permissions, "host-memory.perm")
                : AccessPermissions.ReadWrite;
            regions[i] = new HostMemoryRegion(vaddr, size, perm);
        }

        return regions;
    }

    private static MachineConfig ReadMachine(YamlNode node)
    {
        var fields = new MapFields(Values.Map(node, "machine"), "machine", MachineKeys);
        var regions = new List<RegionConfig>();
        var positions = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        if (fields.Optional("regions") is { } r)
        {
            foreach (YamlNode item in Values.List(r, "machine.regions").Items)
            {
                RegionConfig region = StepReader.ReadRegion(item, "a machine region", allowParent: true);
                if (!positions.TryAdd(region.Name, item))
                {
                    throw new ScenarioException(region.Position, $"duplicate region name '{region.Name}'");
                }

                regions.Add(region);
            }
        }

        var byName = regions.ToDictionary(x => x.Name, StringComparer.Ordinal);
        foreach (RegionConfig region in regions)
        {
            if (region.Target is { } target && !byName.ContainsKey(target))
            {
                throw new ScenarioException(region.Position, $"region '{region.Name}': alias target '{target}' is not a region of machine.regions");
            }

            // Follow the parent chain: it must end at the root without a cycle (at most regions.Count hops).
            RegionConfig current = region;
            for (int hops = 0; current.Parent is { } parent; hops++)
            {
                if (!byName.TryGetValue(parent, out RegionConfig? next))
                {
                    throw new ScenarioException(current.Position, $"region '{current.Name}': parent '{parent}' is not a region of machine.regions");
                }

                if (hops >= regions.Count)
                {
                    throw new ScenarioException(region.Position, $"region '{region.Name}': its parents form a cycle");
                }

                current = next;
            }
        }

        ListenerKind listener = fields.Optional("listener") is { } l
            ? Values.Enum(l, ScenarioNames.ListenerKinds, "machine.listener")
            : ListenerKind.None;
        return new MachineConfig(regions, listener);
    }

    private static GuestIommuConfig ReadGuestIommu(YamlNode node)
    {
        var fields = new MapFields(Values.Map(node, "guest-iommu"), "guest-iommu", GuestIommuKeys);
        return new GuestIommuConfig(
            fields.Optional("format") is { } f ? Values.Enum(f, ScenarioNames.IommuFormats, "guest-iommu.format") : IommuFormat.X86Sl4Level,
            fields.Optional("caching-mode") is not { } c || Values.Bool(c, "guest-iommu.caching-mode"));
    }

    private static DeviceConfig[] ReadDevices(YamlNode node, bool hasGuestIommu)
    {
        YamlSequence list = Values.List(node, "devices");
        var devices = new DeviceConfig[list.Items.Count];
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < devices.Length; i++)
        {
            var fields = new MapFields(Values.Map(list.Items[i], "a device"), "a device", DeviceKeys);
            YamlNode nameNode = fields.Required("name");
            string name = Values.Name(nameNode, "device name");
            if (!names.Add(name))
            {
                throw new ScenarioException(nameNode.Position, $"duplicate device name '{name}'");
            }

            DeviceAttachment behind = hasGuestIommu ? DeviceAttachment.GuestIommu : DeviceAttachment.None;
            if (fields.Optional("behind") is { } b)
            {
                behind = Values.Enum(b, ScenarioNames.Attachments, "device behind");
                if (behind == DeviceAttachment.GuestIommu && !hasGuestIommu)
                {
                    throw new ScenarioException(b.Position, $"device '{name}' is behind guest-iommu, but the file has no guest-iommu");
                }
            }

            devices[i] = new DeviceConfig(name, behind) { Position = list.Items[i].Position };
        }

        return devices;
    }
}
