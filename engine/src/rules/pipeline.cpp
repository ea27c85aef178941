#include "rules/pipeline.hpp"

#include <fmt/format.h>

#include <chrono>
#include <thread>
#include <vector>

#include "model/item_reader.hpp"

namespace lb::rules {

Result<PipelineSummary> run_pipeline(std::istream& in, const std::string& source_name, std::ostream& out,
                                     std::shared_ptr<const Pack> pack, const PipelineOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const int workers = std::max(1, options.workers);
  std::vector<std::unique_ptr<Evaluator>> evaluators;
  for (int i = 0; i < workers; ++i) {
    auto e = Evaluator::create(pack, options.eval);
    if (!e) return Error{e.error().message};
    evaluators.push_back(std::move(*e));
  }

  PipelineSummary summary;
  model::ItemReader reader(in, source_name);
  // Items are decoded into the same slots batch after batch, and each worker evaluates into the
  // same Outcome: their strings keep their capacity, so a steady stream allocates next to
  // nothing per item. One worker takes batches of one item, evaluated right after it is decoded
  // while its data is still in cache; its output is written in large chunks all the same.
  const size_t batch_size = workers == 1 ? 1 : std::max<size_t>(1, options.batch_size);
  std::vector<model::ReadItem> slots(batch_size);
  size_t filled = 0;
  auto item_at = [&](size_t i) -> const model::ExportItem& { return std::get<model::ExportItem>(slots[i].value); };
  std::vector<std::string> buffers(static_cast<size_t>(workers));
  std::vector<PipelineSummary> partial(static_cast<size_t>(workers));
  std::vector<Outcome> outcomes(static_cast<size_t>(workers));

  auto evaluate_range = [&](int w, size_t begin, size_t end) {
    std::string& buf = buffers[static_cast<size_t>(w)];
    PipelineSummary& s = partial[static_cast<size_t>(w)];
    Outcome& o = outcomes[static_cast<size_t>(w)];
    for (size_t i = begin; i < end; ++i) {
      evaluators[static_cast<size_t>(w)]->evaluate(item_at(i), o);
      write_outcome_json(o, buf);
      buf += '\n';
      ++s.items;
      s.warnings += static_cast<int64_t>(o.warnings.size());
      switch (o.status) {
        case OutcomeStatus::decided: ++s.decided, ++s.decided_by_method[o.decisions.method]; break;
        case OutcomeStatus::skipped: ++s.skipped; break;
        case OutcomeStatus::failed: ++s.failed, ++s.failures_by_type[o.failure.type]; break;
      }
    }
  };

  constexpr size_t kWriteChunk = size_t(1) << 20;
  // Workers' outputs go out batch by batch, in worker order; a lone worker's when it is large.
  auto write_output = [&](bool all) {
    for (auto& buf : buffers) {
      if (!all && workers == 1 && buf.size() < kWriteChunk) continue;
      out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
      buf.clear();
    }
  };

  auto flush = [&] {
    if (filled == 0) return;
    const size_t per = (filled + static_cast<size_t>(workers) - 1) / static_cast<size_t>(workers);
    std::vector<std::thread> threads;
    for (int w = 1; w < workers; ++w) {
      const size_t begin = std::min(filled, per * static_cast<size_t>(w));
      const size_t end = std::min(filled, begin + per);
      if (begin < end) threads.emplace_back(evaluate_range, w, begin, end);
    }
    evaluate_range(0, 0, std::min(filled, per));
    for (auto& t : threads) t.join();
    write_output(false);
    filled = 0;
  };

  while (reader.next(slots[filled])) {
    if (auto* error = std::get_if<model::DecodeError>(&slots[filled].value)) {
      ++summary.input_errors;
      if (options.on_input_error) options.on_input_error(error->to_string());
      continue;
    }
    if (++filled == slots.size()) flush();
  }
  flush();
  write_output(true);
  if (!reader.io_error().empty()) return Error{fmt::format("{}: {}", source_name, reader.io_error())};
  if (!out) return Error{"writing the outcomes failed (disk full?)"};

  for (const auto& s : partial) {
    summary.items += s.items;
    summary.decided += s.decided;
    summary.skipped += s.skipped;
    summary.failed += s.failed;
    summary.warnings += s.warnings;
    for (const auto& [k, v] : s.failures_by_type) summary.failures_by_type[k] += v;
    for (const auto& [k, v] : s.decided_by_method) summary.decided_by_method[k] += v;
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return summary;
}

}  // namespace lb::rules
