using System.Collections;
using System.Collections.Specialized;
using System.Management.Automation;
using PSParallel.Engine;
using PSParallel.Engine.Measurement;
using PSParallel.Engine.Workloads;
using Xunit;

namespace PSParallel.Tests.Measurement;

internal static class Trials
{
    public static TrialMeasurement Of(ExecutionModel model, int degree, double seconds, double startup = 0, int items = 64, double cpu = 0) =>
        new(model, degree, items, TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(startup), cpu, 100, 0, null);
}

public class DegreeLadderTests
{
    [Fact]
    public void Starts_at_the_given_degree_and_doubles_while_throughput_grows()
    {
        var ladder = new DegreeLadder(2, 64);
        var tried = new List<int>();
        double rate = 10;
        while (ladder.Next is { } degree)
        {
            tried.Add(degree);
            ladder.Record(rate);
            rate *= 2; // waiting work: twice the lanes, twice the rate
        }
        Assert.Equal(new[] { 2, 4, 8, 16, 32, 64 }, tried);
    }

    [Fact]
    public void Stops_at_the_first_degree_that_does_not_add_enough()
    {
        var ladder = new DegreeLadder(2, 64);
        ladder.Record(100);
        Assert.Equal(4, ladder.Next);
        ladder.Record(100 * DegreeLadder.Growth * 0.99); // grew, but by less than the margin
        Assert.Null(ladder.Next);
    }

    [Fact]
    public void Never_passes_the_cap_and_tries_the_cap_itself()
    {
        var ladder = new DegreeLadder(4, 6);
        Assert.Equal(4, ladder.Next);
        ladder.Record(10);
        Assert.Equal(6, ladder.Next);
        ladder.Record(100);
        Assert.Null(ladder.Next);
    }

    [Fact]
    public void Does_not_climb_when_the_caller_says_it_is_not_worth_it()
    {
        bool worth = false;
        var ladder = new DegreeLadder(2, 8, () => worth);
        ladder.Record(10);
        Assert.Null(ladder.Next);
        var willing = new DegreeLadder(2, 8, () => worth = true);
        willing.Record(10);
        Assert.Equal(4, willing.Next);
    }

    [Fact]
    public void A_start_above_the_cap_starts_at_the_cap()
    {
        var ladder = new DegreeLadder(8, 3);
        Assert.Equal(3, ladder.Next);
    }
}

public class WorkClassifierTests
{
    [Theory]
    [InlineData(0.0, "IoBound")]
    [InlineData(0.3, "IoBound")]
    [InlineData(0.31, "Mixed")]
    [InlineData(0.69, "Mixed")]
    [InlineData(0.7, "CpuBound")]
    [InlineData(1.0, "CpuBound")]
    public void Classifies_by_the_contracts_thresholds(double utilization, string expected) =>
        Assert.Equal(expected, WorkClassifier.Classify(utilization));

    [Fact]
    public void Utilization_comes_from_the_sequential_trial_when_there_is_one()
    {
        var trials = new[]
        {
            Trials.Of(ExecutionModel.Thread, 2, 0.5, cpu: 0.9),
            Trials.Of(ExecutionModel.Sequential, 1, 1.0, cpu: 0.25),
        };
        Assert.Equal(0.25, WorkClassifier.Utilization(trials), 3);
    }

    [Fact]
    public void Without_sequential_the_lowest_degree_is_spread_over_the_lanes_that_could_compute()
    {
        int lanes = Math.Min(2, Environment.ProcessorCount);
        var trials = new[] { Trials.Of(ExecutionModel.Thread, 2, 1.0, cpu: 0.5 * lanes), Trials.Of(ExecutionModel.Thread, 4, 1.0, cpu: 3) };
        Assert.Equal(0.5, WorkClassifier.Utilization(trials), 3);
    }
}

public class ModelChooserTests
{
    [Fact]
    public void Projection_is_start_up_once_plus_the_job_at_the_measured_rate()
    {
        var trial = Trials.Of(ExecutionModel.Process, 2, seconds: 2, startup: 1.5, items: 64);
        Assert.Equal(1.5 + 640 / 32.0, trial.Project(640).TotalSeconds, 6);
    }

    [Fact]
    public void Runspaces_opening_a_few_at_a_time_delay_the_job_by_when_the_average_one_is_ready()
    {
        // The first (one per core) are ready after their share of the opening, the last at its end.
        int cores = Environment.ProcessorCount;
        var trial = Trials.Of(ExecutionModel.Thread, 16 * cores, seconds: 0.2, startup: 0.6, items: 64);
        Assert.Equal(0.6 * (1 + 1 / 16.0) / 2 + 640 / 320.0, trial.Project(640).TotalSeconds, 6);
    }

    [Fact]
    public void Runspaces_opening_all_at_once_delay_the_job_by_all_their_opening()
    {
        var trial = Trials.Of(ExecutionModel.Thread, Environment.ProcessorCount, seconds: 0.2, startup: 0.6, items: 64);
        Assert.Equal(0.6 + 640 / 320.0, trial.Project(640).TotalSeconds, 6);
    }

    [Fact]
    public void Picks_the_fastest_projection_and_each_models_best_degree()
    {
        var trials = new[]
        {
            Trials.Of(ExecutionModel.Sequential, 1, 3.2),
            Trials.Of(ExecutionModel.Thread, 2, 1.6, 0.05),
            Trials.Of(ExecutionModel.Thread, 16, 0.2, 0.3),
            Trials.Of(ExecutionModel.Process, 2, 1.6, 1.2),
        };
        var choice = new ModelChooser(trials, 64);
        Assert.Equal(ExecutionModel.Thread, choice.Chosen.Model);
        Assert.Equal(16, choice.Chosen.ThrottleLimit);
        Assert.Equal(new[] { ExecutionModel.Sequential, ExecutionModel.Thread, ExecutionModel.Process }, choice.Projected.Keys);
        Assert.Equal(choice.Chosen.StartupDelay.TotalSeconds + 0.2, choice.Projected[ExecutionModel.Thread].TotalSeconds, 6);
    }

    [Fact]
    public void A_simpler_model_within_ten_percent_wins()
    {
        var trials = new[] { Trials.Of(ExecutionModel.Thread, 2, 1.05), Trials.Of(ExecutionModel.Process, 2, 0.5, 0.5) };
        var choice = new ModelChooser(trials, 64);
        Assert.Equal(ExecutionModel.Thread, choice.Chosen.Model);
        Assert.Equal(ExecutionModel.Process, choice.Fastest.Model);
    }

    [Fact]
    public void A_lower_degree_within_ten_percent_of_the_models_fastest_wins()
    {
        // On 2 cores Thread 16 projects 0.17 + 0.2 = 0.37 s, Thread 32 0.32 + 0.02 = 0.34 s: within 10 %
        // (and on more cores, where both start-ups weigh more).
        var trials = new[] { Trials.Of(ExecutionModel.Thread, 16, 0.2, 0.3), Trials.Of(ExecutionModel.Thread, 32, 0.02, 0.6) };
        var choice = new ModelChooser(trials, 64);
        Assert.Equal(16, choice.Chosen.ThrottleLimit);
        Assert.Equal(trials[0].Project(64), choice.Projected[ExecutionModel.Thread]);
    }

    [Fact]
    public void A_lower_degree_more_than_ten_percent_slower_loses()
    {
        var trials = new[] { Trials.Of(ExecutionModel.Thread, 16, 0.4, 0.3), Trials.Of(ExecutionModel.Thread, 32, 0.02, 0.6) };
        Assert.Equal(32, new ModelChooser(trials, 64).Chosen.ThrottleLimit);
    }

    [Fact]
    public void A_simpler_model_more_than_ten_percent_slower_loses()
    {
        var trials = new[] { Trials.Of(ExecutionModel.Sequential, 1, 1.2), Trials.Of(ExecutionModel.Thread, 2, 1.0) };
        Assert.Equal(ExecutionModel.Thread, new ModelChooser(trials, 64).Chosen.Model);
    }

    // Twice the cores project 25 % faster than the cores. Work that computes (the sequential trial
    // busy 95 % of its time) gets the cores anyway; work that waits half its time gets twice as many.
    [Theory]
    [InlineData(3.8, 1)]
    [InlineData(2.0, 2)]
    public void Work_that_computes_gets_no_more_threads_than_cores_even_where_more_project_faster(double sequentialCpu, int coresChosen)
    {
        int cores = Environment.ProcessorCount;
        var trials = new[]
        {
            Trials.Of(ExecutionModel.Sequential, 1, 4.0, cpu: sequentialCpu),
            Trials.Of(ExecutionModel.Thread, cores, 1.0),
            Trials.Of(ExecutionModel.Thread, 2 * cores, 0.75),
        };
        Assert.Equal(coresChosen * cores, new ModelChooser(trials, 64).Chosen.ThrottleLimit);
    }

    [Fact]
    public void Start_up_weighs_less_as_the_job_grows()
    {
        var trials = new[] { Trials.Of(ExecutionModel.Sequential, 1, 1.0), Trials.Of(ExecutionModel.Process, 2, 0.5, startup: 2) };
        Assert.Equal(ExecutionModel.Sequential, new ModelChooser(trials, 64).Chosen.Model);
        Assert.Equal(ExecutionModel.Process, new ModelChooser(trials, 64_000).Chosen.Model);
    }
}

public class ReasonWriterTests
{
    [Fact]
    public void Says_when_computing_work_did_not_scale_on_threads_and_what_each_item_cost_there()
    {
        // 64 items: 3.2 s and 3.0 CPU-seconds sequentially; 2 threads 2.9 s burning 5.4 CPU-seconds.
        var trials = new[]
        {
            Trials.Of(ExecutionModel.Sequential, 1, 3.2, cpu: 3.0),
            Trials.Of(ExecutionModel.Thread, 2, 2.9, cpu: 5.4),
            Trials.Of(ExecutionModel.Process, 2, 1.9, startup: 1.0, cpu: 3.6),
        };
        var reason = ReasonWriter.Write(new ModelChooser(trials, 6400), 6400, 0.95);
        Assert.EndsWith("; on this machine threads at 2 ran it only 1.1× as fast as sequential, each item taking 1.8× its sequential " +
                        "processor time (the threads of one process share its garbage collector and compiler).", reason);
    }

    [Fact]
    public void Says_nothing_of_thread_scaling_when_threads_scaled_or_the_work_waits()
    {
        var scaled = new[] { Trials.Of(ExecutionModel.Sequential, 1, 3.2, cpu: 3.0), Trials.Of(ExecutionModel.Thread, 2, 1.7, cpu: 3.3) };
        Assert.DoesNotContain("on this machine", ReasonWriter.Write(new ModelChooser(scaled, 64), 64, 0.95));
        var waiting = new[] { Trials.Of(ExecutionModel.Sequential, 1, 3.2, cpu: 0.1), Trials.Of(ExecutionModel.Thread, 2, 3.0, cpu: 0.3) };
        Assert.DoesNotContain("on this machine", ReasonWriter.Write(new ModelChooser(waiting, 64), 64, 0.03));
    }

    [Fact]
    public void Says_what_ran_how_fast_against_sequential_and_how_the_work_spends_its_time()
    {
        var trials = new[] { Trials.Of(ExecutionModel.Sequential, 1, 1.6, items: 8), Trials.Of(ExecutionModel.Thread, 16, 0.21, items: 8) };
        var reason = ReasonWriter.Write(new ModelChooser(trials, 8), 8, 0.06);
        Assert.Equal("Threads at 16 finished 8 items in 0.21 s; all 8 items are projected to take 0.21 s, 7.6× faster than sequential; " +
                     "the work waits 94% of its time.", reason);
    }

    [Fact]
    public void Explains_a_sequential_verdict_by_the_cost_of_handing_items_over()
    {
        var trials = new[] { Trials.Of(ExecutionModel.Sequential, 1, 0.001), Trials.Of(ExecutionModel.Thread, 2, 0.002, 0.05) };
        var reason = ReasonWriter.Write(new ModelChooser(trials, 64), 64, 1);
        Assert.StartsWith("Sequential finished 64 items in 0.0010 s; threads at 2 would take ", reason);
        Assert.EndsWith("because handing items over costs more than it saves; the work computes 100% of its time.", reason);
    }

    [Fact]
    public void Names_the_faster_model_that_lost_to_a_simpler_one()
    {
        var trials = new[] { Trials.Of(ExecutionModel.Thread, 2, 1.05), Trials.Of(ExecutionModel.Process, 2, 0.5, 0.5) };
        var reason = ReasonWriter.Write(new ModelChooser(trials, 64), 64, 0.9);
        Assert.Contains("processes at 2 are projected only 5% faster on all 64 items, too little to pay for the more complex model", reason);
    }

    [Fact]
    public void Mentions_start_up_when_it_is_noticeable()
    {
        var trials = new[] { Trials.Of(ExecutionModel.Process, 2, 2, startup: 1.2) };
        Assert.StartsWith("Processes at 2 finished 64 items in 2.00 s after 1.20 s of start-up", ReasonWriter.Write(new ModelChooser(trials, 64), 64, 1));
    }
}

public class CommandLineWriterTests
{
    private static JobText Job(string script, IDictionary? variables = null, string[]? modules = null, string[]? functions = null) => new()
    {
        Input = "1..200",
        Script = ScriptBlock.Create(script),
        Variables = variables,
        Modules = modules ?? Array.Empty<string>(),
        Functions = functions ?? Array.Empty<string>(),
    };

    [Fact]
    public void Sequential_is_ForEach_Object_with_the_script_in_a_child_scope_as_measured() =>
        Assert.Equal("1..200 | ForEach-Object { & { $_ * 2 } }", CommandLineWriter.Write(Job(" $_ * 2 "), ExecutionModel.Sequential, 1));

    [Fact]
    public void Sequential_with_using_runs_on_one_thread_because_ForEach_Object_has_no_using() =>
        Assert.Equal("1..200 | Invoke-ThreadBatch { $_ * $using:k } -ThrottleLimit 1",
            CommandLineWriter.Write(Job(" $_ * $using:k "), ExecutionModel.Sequential, 1));

    [Fact]
    public void Threads_and_processes_carry_the_throttle_functions_modules_and_plain_variables()
    {
        var variables = new OrderedDictionary { ["n"] = 5, ["name"] = "it's", ["on"] = true };
        var job = Job(" f $_ ", variables, new[] { "Mod" }, new[] { "f" });
        Assert.Equal("1..200 | Invoke-ThreadBatch { f $_ } -ThrottleLimit 16 -Function 'f' -Module 'Mod' -Variable @{ 'n' = 5; 'name' = 'it''s'; 'on' = $true }",
            CommandLineWriter.Write(job, ExecutionModel.Thread, 16));
        Assert.StartsWith("1..200 | Invoke-ProcessBatch { f $_ } -ThrottleLimit 2 ", CommandLineWriter.Write(job, ExecutionModel.Process, 2));
    }

    [Fact]
    public void A_variable_that_is_not_a_plain_value_becomes_a_placeholder()
    {
        var job = Job(" $_ ", new Hashtable { ["list"] = new List<int> { 1 } });
        Assert.EndsWith("-Variable $variables", CommandLineWriter.Write(job, ExecutionModel.Thread, 4));
    }

    [Fact]
    public void A_compiled_workload_goes_by_its_built_in_name_or_its_type()
    {
        var builtIn = new JobText { Input = "$items", Workload = WorkloadCatalog.Resolve("IsPrime") };
        Assert.Equal("$items | Invoke-ThreadBatch -Workload IsPrime -ThrottleLimit 1", CommandLineWriter.Write(builtIn, ExecutionModel.Sequential, 1));
        var own = new JobText { Input = "$items", Workload = typeof(EchoWorkload) };
        Assert.Equal($"$items | Invoke-ProcessBatch -Workload ([{typeof(EchoWorkload).FullName}]) -ThrottleLimit 2", CommandLineWriter.Write(own, ExecutionModel.Process, 2));
    }
}

public class TrialListTests
{
    [Fact]
    public void A_trial_run_again_keeps_its_faster_run_in_its_place()
    {
        var runs = new Queue<TrialMeasurement>(new[]
        {
            Trials.Of(ExecutionModel.Thread, 2, 1.7),
            Trials.Of(ExecutionModel.Thread, 2, 1.3),
            Trials.Of(ExecutionModel.Thread, 2, 1.5),
        });
        var trials = new TrialList();
        trials.Add(() => Trials.Of(ExecutionModel.Sequential, 1, 1.6));
        trials.Add(runs.Dequeue);

        trials.RunAgain(1, 200);
        Assert.Equal(TimeSpan.FromSeconds(1.3), trials[1].Duration);
        trials.RunAgain(1, 200);
        Assert.Equal(TimeSpan.FromSeconds(1.3), trials[1].Duration);
        Assert.Equal(new[] { ExecutionModel.Sequential, ExecutionModel.Thread }, trials.Select(t => t.Model));
    }

    [Fact]
    public void A_run_again_is_judged_with_its_start_up()
    {
        var runs = new Queue<TrialMeasurement>(new[]
        {
            Trials.Of(ExecutionModel.Process, 2, 1.0, startup: 2.0),
            Trials.Of(ExecutionModel.Process, 2, 0.9, startup: 3.0),
        });
        var trials = new TrialList();
        trials.Add(runs.Dequeue);
        trials.RunAgain(0, 64);
        Assert.Equal(TimeSpan.FromSeconds(2.0), trials[0].Startup);
    }
}
