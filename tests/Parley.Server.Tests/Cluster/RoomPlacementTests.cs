using Parley.Cluster.Membership;
using Parley.Cluster.Rooms;

namespace Parley.Server.Tests.Cluster;

/// <summary>Where rooms run: spread over the nodes that are up, and moved as little as a change of those nodes allows.</summary>
public sealed class RoomPlacementTests
{
    private static readonly string[] Rooms = [.. Enumerable.Range(0, 3000).Select(i => $"room{i}@conference.localhost")];

    private static ClusterNodeState Node(string name, bool up = true) => new(name, "127.0.0.1:5222", up, null, FailedOver: false, FallbackDue: true);

    private static Dictionary<string, string?> Place(params ClusterNodeState[] nodes) =>
        Rooms.ToDictionary(room => room, room => RoomPlacement.HostOf(room, nodes)?.Name);

    [Fact]
    public void Rooms_are_spread_evenly_over_the_nodes_that_are_up()
    {
        var placed = Place(Node("a"), Node("b"), Node("c"), Node("d", up: false));

        var perNode = placed.Values.CountBy(node => node ?? "none").ToDictionary();
        Assert.Equal(["a", "b", "c"], perNode.Keys.Order());
        Assert.All(perNode.Values, count => Assert.InRange(count, 900, 1100));
    }

    [Fact]
    public void When_a_node_goes_down_only_its_rooms_move_and_when_it_comes_back_exactly_they_return()
    {
        var before = Place(Node("a"), Node("b"), Node("c"));
        var down = Place(Node("a"), Node("b"), Node("c", up: false));
        var back = Place(Node("c"), Node("a"), Node("b"));

        Assert.All(Rooms, room => Assert.True(before[room] == "c" ? down[room] is "a" or "b" : down[room] == before[room], room));
        Assert.Equal(before, back);
    }

    [Fact]
    public void With_no_node_up_a_room_has_no_host_and_is_served_where_it_is_asked_for()
    {
        Assert.Null(RoomPlacement.HostOf("team@conference.localhost", [Node("a", up: false)]));
        Assert.Null(RoomPlacement.HostOf("team@conference.localhost", []));
    }
}
