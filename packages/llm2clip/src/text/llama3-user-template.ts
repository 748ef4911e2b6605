/**
 * Wraps a text in the Llama 3 user turn, exactly as LLM2Vec's `prepare_for_tokenization` does for
 * Meta-Llama-3-8B-Instruct: `<|start_header_id|>user<|end_header_id|>\n\n` + text.strip() + `<|eot_id|>`.
 * The tokenizer then adds `<|begin_of_text|>` itself, which makes it the same token sequence as Llama 3's
 * chat template for one user message.
 *
 * MME-SID's authors ran without it (LLM2CLIP's default); `Llm2VecTextEncoder` applies it only with
 * `chatTemplate: 'llama3-user'`.
 */
export function llama3UserTemplate(text: string): string {
  return `<|start_header_id|>user<|end_header_id|>\n\n${text.trim()}<|eot_id|>`;
}
