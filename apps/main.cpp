// mmalign: the command-line program (CLI11). Each subcommand parses its options and calls one
// function in apps/cmd_*.cpp, which calls the library. Exit codes: 0 success, 1 runtime error
// (message on stderr), 2 usage error.
#include <CLI/CLI.hpp>
#include <iostream>

#include "apps/commands.h"
#include "runtime/dist/communicator.h"
#include "runtime/error.h"

int main(int argc, char** argv) {
  CLI::App app{"mmalign: image-text alignment training in C++/CUDA"};
  app.require_subcommand(1);

  mm::app::GradcheckArgs gc;
  auto* gradcheck = app.add_subcommand("gradcheck", "check analytic gradients against finite differences (f64)");
  auto* g_op = gradcheck->add_option("--op", gc.op, "one op of the op table (see --list)");
  auto* g_all = gradcheck->add_flag("--all", gc.all, "every differentiable op and every registered module");
  auto* g_mod = gradcheck->add_option("--module", gc.module, "a loss, ladder rung or fusion module (see --list)");
  auto* g_model = gradcheck->add_option("--model", gc.model, "a model (none registered yet)");
  auto* g_list = gradcheck->add_flag("--list", gc.list, "list the differentiable ops, the modules and their case counts");
  gradcheck->add_flag("--json", gc.json, "print one JSON object on stdout");
  g_op->excludes(g_all)->excludes(g_mod)->excludes(g_model)->excludes(g_list);
  g_all->excludes(g_mod)->excludes(g_model)->excludes(g_list);
  g_mod->excludes(g_model)->excludes(g_list);
  g_model->excludes(g_list);

  mm::app::DemoArgs demo;
  auto* demo_cmd = app.add_subcommand("demo", "fit a small MLP with autograd on a synthetic task, printing the loss");
  demo_cmd->add_option("--steps", demo.steps, "optimisation steps")->check(CLI::Range(1, 1000000));
  demo_cmd->add_option("--threads", demo.threads, "CPU threads (0: default)")->check(CLI::Range(0, 256));
  demo_cmd->add_option("--seed", demo.seed, "random seed");

  mm::app::EmbedArgs em;
  auto* embed = app.add_subcommand("embed", "apply the towers to inputs: image_embeds / text_embeds in a safetensors file");
  auto* e_ckpt = embed->add_option("--checkpoint", em.checkpoint, "a training checkpoint directory");
  auto* e_cfg = embed->add_option("--config", em.config, "a config (.pbtxt) describing the towers");
  e_ckpt->excludes(e_cfg);
  embed->add_option("--weights", em.weights, "weights (.safetensors) for the towers");
  embed->add_option("--weights-format", em.weights_format, "naming of --weights: mmalign | torchvision | hf")
      ->check(CLI::IsMember({"mmalign", "torchvision", "hf"}));
  auto* e_img = embed->add_option("--images", em.images, "a directory of images");
  auto* e_cap = embed->add_option("--captions", em.captions, "a file of captions");
  auto* e_in = embed->add_option("--inputs", em.inputs, "pixel_values [N,3,H,W] f32, input_ids [N,T] i64, attention_mask [N,T]");
  e_img->excludes(e_cap)->excludes(e_in);
  e_cap->excludes(e_in);
  embed->add_option("--out", em.out, "output .safetensors")->required();
  embed->add_flag("--raw", em.raw, "the towers' pooled features, before projection and normalisation");

  mm::app::SummaryArgs sm;
  auto* summary = app.add_subcommand("summary", "print the layer tree with output shapes, parameter counts and FLOPs");
  summary->add_option("--config", sm.config, "a config (.pbtxt)")->required();

  mm::app::TrainArgs tr;
  auto* train_cmd = app.add_subcommand("train", "train a model from a config");
  train_cmd->add_option("--config", tr.config, "a config (.pbtxt)")->required();
  train_cmd->add_option("--set", tr.overrides, "override one field: path.to.field=value (repeatable)");
  train_cmd->add_option("--out", tr.out, "the run directory (metrics.jsonl, checkpoints, eval.json)");
  train_cmd->add_option("--resume", tr.resume,
                        "auto: continue from the newest valid checkpoint in --out (start afresh if none); "
                        "or a checkpoint directory");

  mm::app::DataSynthArgs synth;
  auto* data_cmd = app.add_subcommand("data", "data sets: generate the synthetic set, check a data set");
  data_cmd->require_subcommand(1);
  auto* synth_cmd = data_cmd->add_subcommand("synth", "write the synthetic image-caption set (captions.csv + PNGs)");
  synth_cmd->add_option("--out", synth.out, "output directory (train/, val/, test/ are created in it)")->required();
  synth_cmd->add_option("--n", synth.n, "number of images in all (90% train, 5% val, 5% test)")
      ->check(CLI::Range(int64_t{3}, int64_t{10000000}));
  synth_cmd->add_option("--seed", synth.seed, "random seed");
  synth_cmd->add_option("--image-size", synth.image_size, "image side in pixels")->check(CLI::Range(16, 4096));
  mm::app::DataCheckArgs dcheck;
  auto* check_cmd = data_cmd->add_subcommand("check", "open every image and caption of a config's data; list every bad sample");
  check_cmd->add_option("--data", dcheck.config, "a config (.pbtxt) with a data section")->required();
  check_cmd->add_flag("--json", dcheck.json, "print one JSON object on stdout");

  mm::app::TokenizeArgs tk;
  auto* tokenize_cmd = app.add_subcommand("tokenize", "encode text with a WordPiece, byte-level BPE or word-level vocabulary");
  tokenize_cmd->add_option("--tokenizer", tk.tokenizer, "wordpiece | bpe | word")
      ->required()
      ->check(CLI::IsMember({"wordpiece", "bpe", "word"}));
  tokenize_cmd->add_option("--vocab", tk.vocab, "vocab.txt (wordpiece, word) or vocab.json (bpe)")->required();
  tokenize_cmd->add_option("--merges", tk.merges, "merges.txt (bpe only)");
  auto* tk_text = tokenize_cmd->add_option("--text", tk.text, "the text to encode");
  auto* tk_file = tokenize_cmd->add_option("--file", tk.file, "a UTF-8 file; each line is encoded");
  tk_text->excludes(tk_file);
  tokenize_cmd->add_option("--max-len", tk.max_len, "truncate and pad to N ids (0: neither)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
  tokenize_cmd->add_flag("--json", tk.json, "print one JSON object: input_ids, attention_mask, tokens");

  mm::app::VocabBuildArgs vb;
  auto* vocab_cmd = app.add_subcommand("vocab", "word-level vocabularies (CMPM setup)");
  vocab_cmd->require_subcommand(1);
  auto* vocab_build = vocab_cmd->add_subcommand("build", "build a vocab.txt from training captions");
  vocab_build->add_option("--captions", vb.captions, "captions.csv (header filename,caption) or one caption per line")
      ->required();
  vocab_build->add_option("--out", vb.out, "the vocab.txt to write")->required();
  vocab_build->add_option("--min-count", vb.min_count, "keep words seen at least N times (default 1)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));

  mm::app::ZeroShotArgs zs;
  auto* zs_cmd = app.add_subcommand("zeroshot", "classify one image among text labels with a trained checkpoint");
  zs_cmd->add_option("--checkpoint", zs.checkpoint, "a checkpoint directory (RUN/latest, RUN/best, ...)")->required();
  zs_cmd->add_option("--image", zs.image, "the image file")->required();
  zs_cmd->add_option("--labels", zs.labels, "comma-separated labels, e.g. \"red circle,blue square\"")->required();
  zs_cmd->add_option("--template", zs.templates,
                     "a prompt with {} for the label (repeatable: prompt ensembling); default \"{}\"");
  zs_cmd->add_flag("--json", zs.json, "print one JSON object on stdout");

  mm::app::SearchArgs se;
  auto* se_cmd = app.add_subcommand("search", "the images of an index that best match a text query");
  se_cmd->add_option("--checkpoint", se.checkpoint, "a checkpoint directory")->required();
  se_cmd->add_option("--index", se.index, "image embeddings written by: mmalign embed --checkpoint DIR --images IMAGES")
      ->required();
  se_cmd->add_option("--query", se.query, "the text query")->required();
  se_cmd->add_option("-k", se.k, "results to show (default 5)")->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  se_cmd->add_flag("--json", se.json, "print one JSON object on stdout");

  mm::app::AblateArgs ab;
  auto* ab_cmd = app.add_subcommand("ablate", "train every cross-attention rung as the head and tabulate the results");
  ab_cmd->add_option("--config", ab.config, "a config with head.ladder (configs/ladder_synth.pbtxt)")->required();
  ab_cmd->add_option("--rungs", ab.rungs, "comma-separated rungs (default: all 17)");
  ab_cmd->add_option("--set", ab.overrides, "override one field: path.to.field=value (repeatable)");
  ab_cmd->add_option("--out", ab.out, "output directory (one run per rung, ablation.md, ablation.json)")->required();

  mm::app::EvalArgs ev;
  auto* eval_cmd = app.add_subcommand("eval", "retrieval metrics (R@1/5/10 both ways, R-sum, mean/median rank; "
                                      "label-based R@K and mAP) from an embeddings file");
  auto* ev_emb = eval_cmd->add_option("--embeddings", ev.embeddings,
                                      "safetensors with image_embeds [Ni,d], text_embeds [Nt,d] (f32/f64), "
                                      "text_to_image [Nt] i64, optional labels [Ni] i64 (identity of each image); "
                                      "embeddings are used as given, not normalised: scores are dot products, "
                                      "cosines only for L2-normalised rows (mmalign embed writes those)");
  auto* ev_ckpt = eval_cmd->add_option("--checkpoint", ev.checkpoint, "a checkpoint directory (RUN/latest, RUN/best, RUN/step-NNNNNNN)");
  auto* ev_data = eval_cmd->add_option("--data", ev.data, "with --checkpoint: the data config (.pbtxt)");
  auto* ev_split = eval_cmd->add_option("--split", ev.split, "with --checkpoint: the split to evaluate (default test)");
  ev_emb->excludes(ev_ckpt)->excludes(ev_data)->excludes(ev_split);
  eval_cmd->add_option("--chunk-rows", ev.chunk_rows, "query rows scored at a time: memory O(rows x gallery) (default 1024)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  eval_cmd->add_flag("--json", ev.json, "print one JSON object on stdout (recalls as fractions)");

  mm::app::ReportArgs rep;
  auto* report_cmd = app.add_subcommand("report", "write a self-contained report.html of a run: curves, final metrics, retrieval gallery");
  report_cmd->add_option("--run", rep.run, "the run directory (metrics.jsonl; eval.json, gallery.json, config.pbtxt if present)")
      ->required();
  report_cmd->add_option("--out", rep.out, "the HTML file to write (default RUN/report.html)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  try {
    if (gradcheck->parsed()) {
      if (gc.op.empty() && !gc.all && gc.module.empty() && gc.model.empty() && !gc.list) {
        std::cerr << "mmalign gradcheck: give one of --op NAME, --all, --module NAME, --model NAME, --list\n";
        return 2;
      }
      return mm::app::run_gradcheck(gc);
    }
    if (demo_cmd->parsed()) return mm::app::run_demo(demo);
    if (embed->parsed()) {
      if (em.checkpoint.empty() && em.config.empty()) {
        std::cerr << "mmalign embed: give --checkpoint DIR or --config F.pbtxt\n";
        return 2;
      }
      if (em.images.empty() && em.captions.empty() && em.inputs.empty()) {
        std::cerr << "mmalign embed: give --images DIR, --captions FILE or --inputs F.safetensors\n";
        return 2;
      }
      return mm::app::run_embed(em);
    }
    if (summary->parsed()) return mm::app::run_summary(sm);
    if (synth_cmd->parsed()) return mm::app::run_data_synth(synth);
    if (train_cmd->parsed()) return mm::app::run_train(tr);
    if (check_cmd->parsed()) return mm::app::run_data_check(dcheck);
    if (tokenize_cmd->parsed()) {
      if (tk_text->count() == 0 && tk_file->count() == 0) {
        std::cerr << "mmalign tokenize: give --text S or --file F\n";
        return 2;
      }
      if ((tk.tokenizer == "bpe") != !tk.merges.empty()) {
        std::cerr << "mmalign tokenize: --merges F is required with --tokenizer bpe and used by no other\n";
        return 2;
      }
      if (tk.max_len == 1) {
        std::cerr << "mmalign tokenize: --max-len must be 0 or at least 2 (the begin and end tokens)\n";
        return 2;
      }
      tk.has_text = tk_text->count() > 0;
      return mm::app::run_tokenize(tk);
    }
    if (vocab_build->parsed()) return mm::app::run_vocab_build(vb);
    if (report_cmd->parsed()) return mm::app::run_report(rep);
    if (ab_cmd->parsed()) return mm::app::run_ablate(ab);
    if (zs_cmd->parsed()) return mm::app::run_zeroshot(zs);
    if (se_cmd->parsed()) return mm::app::run_search(se);
    if (eval_cmd->parsed()) {
      if (ev.embeddings.empty() && ev.checkpoint.empty()) {
        std::cerr << "mmalign eval: give --embeddings F.safetensors or --checkpoint DIR\n";
        return 2;
      }
      return mm::app::run_eval(ev);
    }
  } catch (const mm::Error& e) {
    // Under mpirun the other ranks may be waiting in a collective: bring the whole job down, naming
    // this rank (runtime/dist/communicator.h), instead of leaving them to hang.
    std::string msg = mm::error_kind_name(e.kind());
    msg.append(": ").append(e.what());
    if (mm::dist::launched_by_mpi()) mm::dist::abort_world(msg);
    std::cerr << "mmalign: " << msg << "\n";
    return 1;
  } catch (const std::exception& e) {
    if (mm::dist::launched_by_mpi()) mm::dist::abort_world(std::string("error: ").append(e.what()));
    std::cerr << "mmalign: error: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
