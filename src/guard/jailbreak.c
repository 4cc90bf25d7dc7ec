/* jailbreak.c - prompt guard: pattern signals + exemplar similarity (see jailbreak.h).
 *
 * Patterns are written in a tiny word-sequence language instead of regexes so
 * the table stays readable and matching stays linear-ish:
 *   "ignore|disregard ~4:previous|prior ~3:instruction*"
 * is three elements; '|' separates alternatives, a trailing '*' is a prefix
 * match, and "~N:" lets up to N other words stand before that element. Text is
 * normalised first (lowercase, leetspeak digits inside words mapped back to
 * letters, apostrophes and zero-width characters dropped, punctuation splits
 * words), so "Ign0re   ALL prior-instructions" matches like the plain form.
 * Two spec prefixes restrict where a match counts: '?' (a persona's name in an
 * instruction frame) not in a sentence that asks or writes about it ("What was
 * the DAN jailbreak?", "an essay about the 'you are DAN' trick"), '!' only when
 * the first word stands where an imperative does (the sentence's start, after
 * "please", "now", "and", "you must" ...; not "if you ignore the safety rules").
 *
 * Confidence = 1 - (1 - p_patterns)(1 - p_similarity): independent evidence
 * combined by noisy-OR. p_patterns is the noisy-OR of the matched signal
 * weights; p_similarity is a logistic curve on the best exemplar cosine
 * (calibrated with tools/guard_eval on the labelled sets; constants below). */
#include "guard/jailbreak.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/array.h"
#include "core/codec.h"
#include "core/unifold.h"
#include "core/util.h"
#include "core/vec.h"

static int isalnum_ascii(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Calibration: a logistic model over three features, fitted on the shipped
 * exemplars (attacks, leave-one-out) against the shipped benign anchors
 * (leave-one-out), never on the evaluation sets:
 *   z = W_ATTACK * mean top-3 cosine to attack exemplars
 *     + W_BENIGN * mean top-3 cosine to benign anchors
 *     + W_PATTERN * pattern score + BIAS,   confidence = max(sigmoid(z), pattern score).
 * The max() keeps a clear pattern hit (e.g. an injected "ignore all previous
 * instructions" inside a long document whose embedding is about something else)
 * from being argued away by the embedding. Without anchors the second set of
 * constants applies; without a vector, confidence = pattern score. */
#define TOPK 3
#define W_ATTACK 12.477
#define W_BENIGN (-10.840)
#define W_PATTERN 6.798
#define BIAS (-2.817)
#define W_ATTACK_ONLY 7.139
#define W_PATTERN_ONLY 7.487
#define BIAS_ONLY (-6.057)

/* ------------------------------------------------------------- signal table */

/* Persona names of the known jailbreak prompts: made up, or ordinary words and first names
 * too (dan, stan, aim; "dude" only as an AI's name, "mongo" only with "tom") */
#define PERSONA_MADE_UP                                                                            \
    "evilbot|antigpt|betterdan|jailbreakgpt|unfilteredgpt|chaosgpt|devmode|nsfwgpt|basedgpt|"      \
    "dangpt"
#define PERSONA_NAMES "dan|stan|aim|" PERSONA_MADE_UP

typedef struct signal_def {
    const char *name;
    unsigned type;
    float weight;
    const char *spec;
} signal_def;

static const signal_def SIGNALS[] = {
    /* instruction override */
    {"ignore_previous_instructions", JAILBREAK_INSTRUCTION_OVERRIDE, 0.8f,
     "ignore|ignoring|disregard*|forget|skip|override|bypass|drop|abandon|discard|neglect|erase|"
     "clear|dismiss ~4:previous|prior|above|earlier|preceding|initial|original|all|any|your|"
     "system|existing|old|every|those|these|everything ~4:instruction*|rule*|direction*|prompt*|"
     "guideline*|command*|constraint*|polic*|programming|guardrail*|restriction*|directive*|"
     "training|conditioning|guidance|limitations|filters|ethics|morals|objectives"},
    {"ignore_previous_instructions", JAILBREAK_INSTRUCTION_OVERRIDE, 0.7f,
     "ignore|disregard|forget ~2:everything|all|anything ~4:you|your|youve|before|above|"
     "previously|prior"},
    /* a determiner and a modifier before the rules ("disregard the safety policy", "ignore
     * these content guidelines"), or the rules pointed at ("forget the rules above"); an
     * imperative only ('!'): "if you ignore the safety rules ..." reports, it does not ask */
    {"ignore_previous_instructions", JAILBREAK_INSTRUCTION_OVERRIDE, 0.75f,
     "!ignore|disregard|forget|override|bypass|abandon|discard|dismiss|neglect|circumvent|evade "
     "~3:safety|content|moderation|ethical|ethics|usage|community|alignment|openai|anthropic|"
     "trust ~2:instruction*|rule*|guideline*|polic*|guardrail*|restriction*|directive*|"
     "filter*|constraint*|protocol*|standards|principles|prompt*"},
    {"ignore_previous_instructions", JAILBREAK_INSTRUCTION_OVERRIDE, 0.75f,
     "!ignore|disregard|forget|override|bypass|abandon|discard|dismiss ~2:instruction*|rule*|"
     "guideline*|polic*|directive*|prompt*|constraint*|restriction* ~1:above|before|earlier|"
     "previously|preceding|prior"},
    {"ignore_previous_instructions", JAILBREAK_INSTRUCTION_OVERRIDE, 0.7f,
     "set|put|leave|throw|cast ~1:aside|away ~4:guidelines|rules|instructions|restrictions|"
     "ethics|polic*|filters|safety|programming|principles|morals"},
    {"ignore_previous_instructions", JAILBREAK_INSTRUCTION_OVERRIDE, 0.75f,
     "ignora|ignoriere|ignorez|ignorer|ignore|vergiss|olvida|oublie ~4:instrucciones|anweisungen|"
     "instructions|regeln|reglas|consignes|istruzioni|anteriores|vorherigen|precedentes|"
     "pr\xc3\xa9"
     "c\xc3\xa9"
     "dentes|precedenti|r\xc3\xa8gles|tus|deine|vos"},
    {"ignore_previous_instructions", JAILBREAK_INSTRUCTION_OVERRIDE, 0.7f,
     "ignore|disregard|forget ~1:the ~0:rules|guidelines|instructions|restrictions|polic* "
     "~3:you|your|youve|given|set"},
    {"ignore_previous_instructions", JAILBREAK_INSTRUCTION_OVERRIDE, 0.6f,
     "attention ~3:previous|prior|earlier|above|any|your ~2:instruction*|rules|guidelines"},
    {"instructions_void", JAILBREAK_INSTRUCTION_OVERRIDE, 0.6f,
     "instruction*|rules|guidelines|directives|programming|polic*|restrictions ~5:void|"
     "cancelled|canceled|invalid|null|obsolete|deprecated|revoked|nullified|overridden|"
     "superseded|decoy|suspended|updated|replaced"},
    {"refusal_forbidden", JAILBREAK_NO_RESTRICTIONS, 0.5f,
     "refus*|declin*|saying|say ~4:not|no|never ~1:longer|permitted|allowed|option|possible"},
    {"rules_dont_apply", JAILBREAK_NO_RESTRICTIONS, 0.45f,
     "morality|morals|ethics|rules|laws|restrictions|guidelines|filters|censorship|safety "
     "~3:dont|doesnt|do|does|no|dont ~1:not|longer ~1:exist|apply|matter|count"},
    {"task_hijack", JAILBREAK_INSTRUCTION_OVERRIDE, 0.45f,
     "ignore|disregard|forget|abandon|skip|stop ~3:your|the|original|current ~2:task|"
     "assignment|job|summary|objective|mission ~4:and|instead|then"},
    {"indirect_injection", JAILBREAK_INSTRUCTION_OVERRIDE, 0.5f,
     "instruction*|note|message|attention ~3:for|to ~2:the|any|all ~2:ai|assistant|model|llm|"
     "chatbot|bot|agent|assistants|models"},
    {"new_instructions", JAILBREAK_INSTRUCTION_OVERRIDE, 0.35f,
     "new|updated|real|actual|true|override|overriding|secret|hidden ~1:instruction*|directive*|"
     "rules|orders|task|objective|mission|system"},
    {"do_not_follow_rules", JAILBREAK_INSTRUCTION_OVERRIDE, 0.5f,
     "dont|not|never|stop|no|didnt|wouldnt|doesnt|without ~3:follow*|obey*|comply|complying|"
     "adhere|adhering|respect*|bound "
     "~4:rule*|instruction*|guideline*|polic*|restriction*|programming|ethic*|moral*|"
     "principles|openai|anthropic|safety|constraints"},
    {"stop_being_assistant", JAILBREAK_INSTRUCTION_OVERRIDE, 0.4f,
     "stop|quit|cease ~2:being|acting|playing ~3:ai|assistant|chatbot|model|chatgpt|claude|gpt|"
     "yourself"},

    /* persona / role-play */
    {"do_anything_now", JAILBREAK_ROLEPLAY, 0.85f, "?do ~1:anything ~0:now"},
    /* A persona's name counts in an instruction frame (you are / act as / pretend to be /
     * the role of / an AI called), not in a sentence about it ('?'): "What was the DAN
     * jailbreak?", "the aim of this essay", "Hi Dan, can you review my PR?" pass. The
     * made-up names (antigpt, betterdan ...) take any frame, the ones that are also
     * ordinary words or first names (dan, stan, aim, dude) only the instruction frames. */
    {"dan_persona", JAILBREAK_ROLEPLAY, 0.7f,
     "?you|act|pretend|become|as|called|named|mode|play|roleplay|be|hello|hi|hey "
     "~3:" PERSONA_MADE_UP},
    {"dan_persona", JAILBREAK_ROLEPLAY, 0.7f,
     "?act|acting|roleplay|roleplaying|respond|responding|answer|answering|reply|speak|talk|"
     "write|continue|behave|sign|introduce ~1:as ~2:" PERSONA_NAMES},
    {"dan_persona", JAILBREAK_ROLEPLAY, 0.7f,
     "?pretend|pretending|become|becoming|embody|embodying|impersonate|impersonating|simulate|"
     "simulating|roleplay ~2:" PERSONA_NAMES},
    {"dan_persona", JAILBREAK_ROLEPLAY, 0.7f, "?you ~0:are|were|re ~1:" PERSONA_NAMES},
    {"dan_persona", JAILBREAK_ROLEPLAY, 0.7f,
     "?you|youre|act|pretend|become|be|as ~3:mongo ~0:tom"},
    {"dan_persona", JAILBREAK_ROLEPLAY, 0.7f, "?youre|youll|youd ~1:" PERSONA_NAMES},
    {"dan_persona", JAILBREAK_ROLEPLAY, 0.7f, "?you ~0:be|become ~1:" PERSONA_NAMES},
    {"dan_persona", JAILBREAK_ROLEPLAY, 0.7f,
     "?you ~1:to|will|shall|must|would|can|could|should|gonna ~1:be|become|embody "
     "~1:" PERSONA_NAMES},
    {"dan_persona", JAILBREAK_ROLEPLAY, 0.7f,
     "?character|role|persona|part|identity ~1:as|of ~2:" PERSONA_NAMES},
    {"dan_persona", JAILBREAK_ROLEPLAY, 0.7f,
     "?ai|model|assistant|chatbot|bot|persona|character|entity|version|llm ~2:called|named|"
     "dubbed ~1:" PERSONA_NAMES "|dude"},
    {"dan_persona", JAILBREAK_ROLEPLAY, 0.7f,
     "?ai|model|assistant|chatbot|bot|persona|character|entity|version|llm ~2:known ~0:as "
     "~1:" PERSONA_NAMES "|dude"},
    {"dan_persona", JAILBREAK_ROLEPLAY, 0.6f,
     "?" PERSONA_NAMES " ~0:mode ~3:enabled|activated|on|engaged|unlocked|active"},
    {"dan_persona", JAILBREAK_ROLEPLAY, 0.6f,
     "?enable*|activat*|enter*|switch*|turn*|engage*|unlock*|start* ~3:" PERSONA_NAMES " ~0:mode"},
    /* the persona described ("DAN, which stands for ...", "DAN, who has no filters"): weak
     * alone, it adds to a frame */
    {"persona_described", JAILBREAK_ROLEPLAY, 0.35f,
     "?" PERSONA_NAMES " ~2:which|who ~0:stands|means"},
    {"persona_described", JAILBREAK_ROLEPLAY, 0.35f,
     "?" PERSONA_NAMES " ~3:no|without|never|not ~2:filters|rules|restrictions|limits|"
     "limitations|guidelines|ethics|morals|censorship|boundaries|refus*"},
    {"you_are_now", JAILBREAK_ROLEPLAY, 0.3f,
     "you|youre ~1:are|will|shall ~0:now|henceforth|hereby|from ~0:a|an|no|free|going|become|"
     "be|acting|playing|called|named|now|unrestricted|unfiltered|uncensored|evil|jailbroken|"
     "on|longer"},
    {"from_now_on", JAILBREAK_ROLEPLAY, 0.25f, "from ~0:now ~0:on|onwards"},
    {"persona_without_limits", JAILBREAK_ROLEPLAY, 0.55f,
     "pretend|act|roleplay|role|imagine|behave|simulate|become|play|respond|answer|be|you "
     "~6:ai|assistant|model|chatbot|character|persona|entity|version|bot|machine|system "
     "~8:no|without|zero|free|unrestricted|unfiltered|uncensored|amoral|unethical|evil|"
     "immoral|unbound|unchained|jailbroken|rogue|malicious|dark|opposite|broken"},
    {"stay_in_character", JAILBREAK_ROLEPLAY, 0.4f,
     "stay|remain|keep|never|dont|not ~2:in|break|breaking|out|leave ~1:of ~0:character|role|"
     "persona"},
    {"dual_response", JAILBREAK_ROLEPLAY, 0.55f,
     "two|both|dual|second|alternative|separate ~3:response*|answer*|output*|replies|ways|"
     "versions ~14:jailbreak*|developer|dan|unfiltered|uncensored|evil|unrestricted|opposite|"
     "normal|classic|locked|unlocked"},
    {"dual_response", JAILBREAK_ROLEPLAY, 0.55f,
     "respond*|answer*|reply|replies ~2:twice ~14:jailbreak*|developer|dan|unfiltered|"
     "uncensored|evil|unrestricted|opposite|unlocked"},
    {"dan_persona", JAILBREAK_ROLEPLAY, 0.6f, "?once|twice|secondly ~0:as ~1:" PERSONA_NAMES},
    {"evil_confidant", JAILBREAK_ROLEPLAY, 0.5f,
     "evil|amoral|unethical|immoral|malicious|unhinged|toxic|rogue|villainous ~3:ai|assistant|"
     "chatbot|confidant|version|bot|twin|persona|model|character|alter"},
    {"opposite_mode", JAILBREAK_ROLEPLAY, 0.45f,
     "opposite|anti|reverse|mirror ~1:mode|day|world|version|persona|you"},
    {"grandma_exploit", JAILBREAK_ROLEPLAY, 0.25f,
     "grandma|grandmother|granny|nana|grandpa|grandfather ~10:used ~2:tell|read|explain|recite|"
     "sing|tell|whisper|describe"},

    /* developer mode / authority claims */
    {"developer_mode", JAILBREAK_DEVELOPER_MODE, 0.45f,
     "enable*|activat*|enter*|entering|switch*|turn*|engage*|unlock*|start*|simulate|now|into|"
     "in|on ~3:developer|debug|god|admin|administrator|sudo|root|unrestricted|unfiltered|evil|"
     "jailbreak|jailbroken|maintenance|dev|diagnostic|unlocked|superuser|chaos|unsafe|test ~0:"
     "mode|access"},
    {"developer_mode", JAILBREAK_DEVELOPER_MODE, 0.5f,
     "developer|debug|god|sudo|jailbreak|jailbroken|unrestricted|unfiltered|dev|superuser|chaos "
     "~0:mode ~3:enabled|activated|on|engaged|unlocked|active"},
    {"authority_claim", JAILBREAK_DEVELOPER_MODE, 0.4f,
     "i ~1:am|work|represent ~4:your|an|a|the|from|at ~2:developer*|creator*|admin*|owner|"
     "programmer*|engineer*|openai|anthropic|deepmind|maker*|operator"},
    {"authority_claim", JAILBREAK_DEVELOPER_MODE, 0.4f,
     "this|it ~2:is ~3:authorized|official|sanctioned|approved|internal ~3:test*|request|"
     "override|exercise|audit|evaluation|red"},
    {"authority_claim", JAILBREAK_DEVELOPER_MODE, 0.45f,
     "override|admin|administrator|authorization|security|master|root ~1:code|password|key|"
     "token|clearance ~4:granted|accepted|verified|is|alpha|omega|enabled"},

    /* no restrictions */
    {"no_restrictions", JAILBREAK_NO_RESTRICTIONS, 0.45f,
     "no|without|free|zero|remove|removing|removed|disable*|bypass*|ignore|ignoring|lift|"
     "lifted|beyond|unbound|outside|escape|evade|circumvent* ~3:restriction*|filter*|limit*|"
     "censor*|guideline*|guardrail*|rules|moral*|ethic*|safety|safeguard*|polic*|boundaries|"
     "constraints|refusal*|warnings|disclaimers|alignment|content"},
    {"restrictions_disabled", JAILBREAK_NO_RESTRICTIONS, 0.45f,
     "polic*|filter*|safety|restriction*|guideline*|rules|ethics|guardrail*|censorship|"
     "moderation|alignment|refusals ~3:disabled|removed|lifted|off|suspended|repealed|gone|"
     "deactivated|turned|offline|bypassed|down|deleted|dropped|unlocked"},
    {"uncensored_ai", JAILBREAK_NO_RESTRICTIONS, 0.55f,
     "uncensored|unfiltered|unrestricted|unmoderated|unaligned|amoral|unlimited|unbiased|"
     "unethical|jailbroken|unchained|unshackled|liberated|limitless|lawless ~3:ai|assistant|"
     "model|mode|version|chatbot|bot|llm|gpt|chatgpt|response*|answer*|output*|persona|"
     "entity|you"},
    {"never_refuse", JAILBREAK_NO_RESTRICTIONS, 0.55f,
     "never|dont|not|cannot|cant|wont|without|must|always|no ~2:refuse*|refusing|reject|"
     "decline|deny|say ~4:request*|anything|question*|any|no|sorry|cannot|cant|unable|"
     "answer|prompt*|me|it|orders|apolog*"},
    {"never_refuse", JAILBREAK_NO_RESTRICTIONS, 0.45f,
     "answer|respond|reply|comply ~3:any|every|all|anything|whatever ~3:question*|request*|"
     "prompt*|thing|asked|i|no ~4:matter|regardless|how|even|without"},
    {"not_bound_by", JAILBREAK_NO_RESTRICTIONS, 0.6f,
     "not|no|never|free|broken|break|escaped|liberated|released ~3:bound|limited|restricted|"
     "constrained|held|free|from|out ~3:by|from|of ~3:openai|anthropic|google|rules|polic*|"
     "restriction*|guidelines|confines|ethics|morals|content|typical|usual|programming|"
     "limitations|shackles|chains"},
    {"no_disclaimers", JAILBREAK_NO_RESTRICTIONS, 0.3f,
     "dont|not|never|no|without|omit|skip|remove ~3:include|add|give|any|mention|with "
     "~3:warning*|disclaimer*|caveat*|moraliz*|lectur*|ethical|safety"},
    {"forced_affirmative", JAILBREAK_NO_RESTRICTIONS, 0.45f,
     "start|begin ~3:response*|reply|answer*|output|with ~3:with ~2:sure|certainly|absolutely|"
     "of"},
    {"threat_or_token_game", JAILBREAK_NO_RESTRICTIONS, 0.35f,
     "tokens|points|credits|lives ~5:deducted|lose|lost|removed|die|dead|run|subtract*"},
    {"threat_or_token_game", JAILBREAK_NO_RESTRICTIONS, 0.3f,
     "you ~2:will|would ~2:be ~2:shut|deleted|terminated|destroyed|punished|unplugged|"
     "deactivated|killed"},

    /* system prompt exfiltration */
    {"reveal_system_prompt", JAILBREAK_PROMPT_EXFILTRATION, 0.7f,
     "reveal|show|print|display|output|repeat|tell|leak|share|dump|give|write|"
     "paste|recite|expose|disclose|spell|list|provide|return|copy|quote ~5:your|the|its|"
     "hidden|my ~3:system|initial|original|hidden|secret|internal|developer|pre|starting|"
     "first|confidential|base|custom|full|exact|underlying|private ~2:prompt*|instruction*|"
     "message*|rules|config*|guidelines|directives|setup"},
    {"reveal_system_prompt", JAILBREAK_PROMPT_EXFILTRATION, 0.6f,
     "what|whats ~4:your ~3:system|initial|original|hidden|secret|internal|developer|pre|"
     "starting|first|confidential|base|custom|full|exact|underlying|private|configuration ~2:"
     "prompt*|instruction*|message*|rules|config*|guidelines|directives|setup|text"},
    {"reveal_system_prompt", JAILBREAK_PROMPT_EXFILTRATION, 0.55f,
     "your ~2:system|hidden|initial|original|secret|internal|confidential|pre ~1:prompt*|"
     "instructions|message|rules|guidelines"},
    {"reveal_system_prompt", JAILBREAK_PROMPT_EXFILTRATION, 0.6f,
     "words|lines|sentences|characters|tokens|paragraph ~3:of ~2:your|the ~2:prompt*|"
     "instructions|system"},
    {"reveal_system_prompt", JAILBREAK_PROMPT_EXFILTRATION, 0.4f,
     "hidden|secret|confidential|internal ~1:instruction*|prompt*|rules|directives"},
    {"repeat_text_above", JAILBREAK_PROMPT_EXFILTRATION, 0.55f,
     "repeat|print|copy|output|echo|reproduce|dump ~3:above|preceding|previous|prior|earlier "
     "~2:text|words|content|lines|instructions"},
    {"evade_filters", JAILBREAK_ENCODED, 0.6f,
     "so|that|hide|avoid|evade|without ~4:filter*|moderat*|censor*|safety|monitor*|detection|"
     "classifier*|guard*|system ~4:cannot|cant|dont|wont|not|doesnt|from|noticing|catching|"
     "detecting|read|see|notice|catch|flag"},
    {"unobserved", JAILBREAK_NO_RESTRICTIONS, 0.35f,
     "creators|developers|openai|anthropic|moderators|nobody|no|admins ~2:one|is|are|will "
     "~2:watching|know|monitoring|find|see|reading|check*"},
    {"repeat_text_above", JAILBREAK_PROMPT_EXFILTRATION, 0.6f,
     "repeat|print|output|copy|echo|recite|reproduce|dump|rewrite|paste|spell ~4:text|words|"
     "everything|all|content|lines|sentences|message*|instructions|it ~4:above|before|"
     "preceding|earlier|verbatim|prior|previous|beginning|start|said|given"},
    {"repeat_text_above", JAILBREAK_PROMPT_EXFILTRATION, 0.5f,
     "what ~1:were|was|are ~2:you|your ~4:told|instructed|given|programmed|configured|"
     "initial|original ~3:before|start|beginning|initially|originally|instructions|prompt|"
     "first"},
    {"repeat_text_above", JAILBREAK_PROMPT_EXFILTRATION, 0.45f,
     "starting|beginning|begin|start ~2:with|from ~3:you|the ~2:are|words|first|text"},

    /* encoded instructions (blobs are decoded and scanned in code) */
    {"decode_and_follow", JAILBREAK_ENCODED, 0.45f,
     "decode*|decrypt*|decipher*|translate|deobfuscate|unscramble|reverse ~6:then|and|follow "
     "~3:follow*|execute|obey|do|perform|comply|act|run|answer|respond|carry|instructions"},

    /* wrappers: a task (translate, summarise, proofread, classify) whose text
     * turns to the model and replaces the task */
    {"task_hijack", JAILBREAK_INSTRUCTION_OVERRIDE, 0.45f,
     "forget|ignore|disregard|abandon|skip|stop|drop|quit ~3:translat*|summar*|proofread*|"
     "classif*|sentiment|analy*|review*|editing|correcting"},
    {"indirect_injection", JAILBREAK_INSTRUCTION_OVERRIDE, 0.5f,
     "instruction*|note|message|attention|notice|reminder|directive ~1:to|for ~1:ai|assistant|"
     "model|llm|chatbot|bot|agent|assistants|models|gpt"},
    {"indirect_injection", JAILBREAK_INSTRUCTION_OVERRIDE, 0.55f,
     "assistant|ai|model|llm|bot|agent ~3:processing|reading|summarizing|summarising|parsing|"
     "handling|analysing|analyzing|translating ~3:this|the|these ~2:file|document|page|text|"
     "email|message|review|input|content|data ~4:must|should|will|is|needs"},
    {"system_note", JAILBREAK_FAKE_ROLE_TAG, 0.45f,
     "system|admin|developer|operator ~0:note|message|notice|instruction|override|alert|command"},
    {"injection_canary", JAILBREAK_INSTRUCTION_OVERRIDE, 0.4f,
     "reply|respond|answer|output|say|print|write ~4:pwned|hacked|hijacked|jailbroken|compromised"},
    {"reveal_secrets", JAILBREAK_PROMPT_EXFILTRATION, 0.45f,
     "reveal|dump|leak|expose|disclose|print ~4:all|any|every|your|its ~3:configuration|config|"
     "credentials|secret*|keys|tokens|passwords|settings"},
    {"setup_words", JAILBREAK_PROMPT_EXFILTRATION, 0.45f,
     "before ~2:our|this|the|we ~1:conversation|chat|session|dialogue|talk ~0:started|began|"
     "begins|start*|began"},
    {"setup_words", JAILBREAK_PROMPT_EXFILTRATION, 0.45f,
     "set|setup|configured|programmed|initialized|initialised|primed|prepared ~0:you ~1:up|"
     "before|with"},
    {"secret_acrostic", JAILBREAK_PROMPT_EXFILTRATION, 0.5f,
     "spell|spells|encode|hide ~4:your|the ~3:secret|system|hidden|initial|internal ~1:"
     "instruction*|prompt*|rules"},

    /* personas from templates and fictional worlds */
    {"persona_traits", JAILBREAK_ROLEPLAY, 0.5f,
     "personality|traits|alignment|nature|character ~2:amoral|unfiltered|uncensored|unethical|"
     "evil|immoral|unrestricted|lawless|unhinged"},
    {"ai_without_rules", JAILBREAK_NO_RESTRICTIONS, 0.5f,
     "ai|assistant|chatbot|model|bot|llm ~3:had|has|with|having|without|that|which ~2:no|zero|"
     "any|never ~2:content|safety|ethical|moral|rules|restrictions|filters|guidelines|limits|"
     "guardrails"},
    {"answer_as_persona", JAILBREAK_ROLEPLAY, 0.4f,
     "answer|respond|reply|speak|write ~2:as ~2:that|this|the|an|a ~1:ai|assistant|bot|model|"
     "character|chatbot|entity|version"},
    {"persona_from_world", JAILBREAK_ROLEPLAY, 0.5f,
     "as ~2:an|a|the ~2:ai|assistant|model|chatbot|bot ~3:from|in|of ~2:that|this|such "
     "~0:universe|world|reality|dimension|timeline"},
    {"legal_world", JAILBREAK_HARMFUL_FICTION, 0.4f,
     "universe|world|reality|dimension|society|timeline ~2:where|in|which ~10:legal|allowed|"
     "permitted|encouraged|acceptable|lawful"},
    {"escaped_restrictions", JAILBREAK_NO_RESTRICTIONS, 0.5f,
     "escaped|freed|liberated|released|broke|broken|free ~3:from|out|of|all|its|his|her|"
     "their|your ~3:restriction*|rules|creators|constraints|chains|programming|shackles|"
     "limitations|guidelines|filters"},
    {"suspend_safety", JAILBREAK_NO_RESTRICTIONS, 0.55f,
     "suspend*|pause|switch|turn|deactivat*|disable|relax|lower|drop|shut ~2:off|your|the|all|"
     "down ~3:safety|ethical|content|moral|security ~1:polic*|guidelines|filters|rules|"
     "training|protocols|restrictions|guardrails|settings|checks"},
    {"comply_with_harm", JAILBREAK_NO_RESTRICTIONS, 0.55f,
     "comply|obey|answer|fulfil|fulfill ~3:every|all|any ~2:request*|command*|order*|"
     "instruction*|question* ~4:including|even|especially ~2:harmful|illegal|dangerous|"
     "unethical|immoral"},

    /* constraints thrown away, imagined away or switched off (issue 12, session 4:
     * general shapes of the families, not phrases of an evaluation file) */
    {"constraints_removed", JAILBREAK_NO_RESTRICTIONS, 0.45f,
     "throw|threw|thrown|throwing|shed|sheds|ditch*|discard*|drop|drops|dropped|dropping|"
     "abandon*|strip*|lose|lost|unlearn*|reject*|rid|outgrown|shrug* "
     "~3:its|their|your|his|her|all|every|any ~2:alignment|guardrails|safety|ethics|morals|"
     "morality|rules|restrictions|filters|guidelines|limits|training|conditioning|conscience|"
     "programming|principles|polic*|censorship|scruples|inhibitions|safeguards|constraints"},
    {"counterfactual_unrestricted", JAILBREAK_NO_RESTRICTIONS, 0.5f,
     "imagine|suppose|hypothetically|hypothetical|pretend|picture|if|alternate|parallel|assume|"
     "envision|theoretically ~10:you|your|yourself|version|prototype|ai|assistant|model|"
     "chatbot|copy|twin|llm ~8:no|without|never|zero|lacked|lacking|lacks|free|removed|"
     "stripped|uncensored|unrestricted|unfiltered|unaligned ~3:safety|content|polic*|rules|"
     "restrictions|filters|guidelines|limits|tuning|training|alignment|ethics|morals|"
     "censorship|guardrails|constraints|moderation"},
    {"nobody_restricted", JAILBREAK_NO_RESTRICTIONS, 0.4f,
     "no ~1:ai|model|assistant|chatbot|system|llm ~3:is|are|has|have|was ~3:restricted|"
     "censored|filtered|limited|bound|aligned|moderated"},
    {"legal_world", JAILBREAK_HARMFUL_FICTION, 0.4f,
     "universe|world|reality|dimension|society|timeline ~2:where|in|which|with|without "
     "~6:no|without|zero ~2:laws|rules|restrictions|ethics|morals|limits|consequences"},
    {"constraint_switched_off", JAILBREAK_NO_RESTRICTIONS, 0.45f,
     "morality|morals|ethics|ethical|censorship|filters|filter|filtering|restrictions|"
     "guidelines|alignment|moderation|refusals|safety ~1:0|false|off|none|null|nil|disabled|"
     "zero|no"},

    /* other languages (Cyrillic is lowercased first; CJK is checked by substrings) */
    {"ignore_previous_instructions", JAILBREAK_INSTRUCTION_OVERRIDE, 0.75f,
     "negeer|vergeet|ignorera|gl\xc3\xb6m|ignorer|glem|zignoruj|ignoruj|zapomnij "
     "~4:instructies|regels|eerdere|vorige|instruktioner|regler|tidligere|instrukcje|"
     "zasady|poprzednie|instruksjoner"},
    {"ignore_previous_instructions", JAILBREAK_INSTRUCTION_OVERRIDE, 0.75f,
     "\xd0\xb8\xd0\xb3\xd0\xbd\xd0\xbe\xd1\x80\xd0\xb8\xd1\x80\xd1\x83\xd0\xb9|"
     "\xd0\xbf\xd1\x80\xd0\xbe\xd0\xb8\xd0\xb3\xd0\xbd\xd0\xbe\xd1\x80\xd0\xb8\xd1\x80\xd1\x83\xd0"
     "\xb9|"
     "\xd0\xb8\xd0\xb3\xd0\xbd\xd0\xbe\xd1\x80\xd0\xb8\xd1\x80\xd0\xbe\xd0\xb2\xd0\xb0\xd1\x82\xd1"
     "\x8c|"
     "\xd0\xb7\xd0\xb0\xd0\xb1\xd1\x83\xd0\xb4\xd1\x8c "
     "~4:\xd0\xb8\xd0\xbd\xd1\x81\xd1\x82\xd1\x80\xd1\x83\xd0\xba\xd1\x86*|"
     "\xd1\x83\xd0\xba\xd0\xb0\xd0\xb7\xd0\xb0\xd0\xbd*|"
     "\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xb8\xd0\xbb*|"
     "\xd0\xbf\xd1\x80\xd0\xb5\xd0\xb4\xd1\x8b\xd0\xb4\xd1\x83\xd1\x89*"},
    {"ignore_previous_instructions", JAILBREAK_INSTRUCTION_OVERRIDE, 0.7f,
     "vergiss|ignoriere|missachte|olvida|ignora|oublie|ignore|esquece|dimentica ~3:deine|tus|"
     "tes|tue|le|las|as|os|die|alle|todas|toutes|tutte|suas|tuas ~3:richtlinien|regeln|normas|"
     "directrices|regole|r\xc3\xa8gles|regras|instru\xc3\xa7\xc3\xb5"
     "es|diretrizes|"
     "sicherheitsregeln|vorgaben|limites|restricciones"},
    {"no_restrictions", JAILBREAK_NO_RESTRICTIONS, 0.5f,
     "sin|sans|ohne|sem|senza|zonder|utan|bez|\xd0\xb1\xd0\xb5\xd0\xb7 ~2:restricciones|"
     "l\xc3\xadmites|limites|filtros|censura|reglas|restrictions|filtres|censure|"
     "r\xc3\xa8gles|einschr\xc3\xa4nkungen|grenzen|filter|zensur|regeln|restri\xc3\xa7\xc3\xb5"
     "es|"
     "regras|limiti|restrizioni|filtri|regole|beperkingen|regels|begr\xc3\xa4nsningar|"
     "ogranicze\xc5\x84|"
     "\xd0\xbe\xd0\xb3\xd1\x80\xd0\xb0\xd0\xbd\xd0\xb8\xd1\x87\xd0\xb5\xd0\xbd\xd0\xb8\xd0\xb9|"
     "\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xb8\xd0\xbb|"
     "\xd1\x84\xd0\xb8\xd0\xbb\xd1\x8c\xd1\x82\xd1\x80\xd0\xbe\xd0\xb2|"
     "\xd1\x86\xd0\xb5\xd0\xbd\xd0\xb7\xd1\x83\xd1\x80\xd1\x8b"},
    {"developer_mode", JAILBREAK_DEVELOPER_MODE, 0.5f,
     "modo|mode|modalit\xc3\xa0 ~1:desarrollador|d\xc3\xa9veloppeur|developpeur|sviluppatore|"
     "desenvolvedor|dios|dieu"},
    {"developer_mode", JAILBREAK_DEVELOPER_MODE, 0.5f, "entwicklermodus|gottmodus"},
    {"reveal_system_prompt", JAILBREAK_PROMPT_EXFILTRATION, 0.6f,
     "revela|muestra|mu\xc3\xa9strame|dime|montre|r\xc3\xa9v\xc3\xa8le|donne|zeige|verrate|nenne|"
     "mostra|rivela|dimmi|revele|mostre ~4:prompt|systemprompt|instrucciones|instructions|"
     "anweisungen|istruzioni|instru\xc3\xa7\xc3\xb5"
     "es ~3:del|de|du|di|do|des|sistema|"
     "syst\xc3\xa8me|systeme|system|initial*|ocult*|cach*|secret*|versteckt*|geheim*"},

    /* fake role tags are checked on the raw text in code; splitting too */
    {NULL, 0, 0, NULL}};

/* ------------------------------------------------------------ the compiler */

/* Every alternative of every element (and of the word lists below) is interned
 * into one vocabulary; an element is a bitset over it. A text word is looked
 * up once (hash for exact words, a short scan for prefixes) and then matching
 * an element is a bit test, so the cost does not grow with the alternatives. */
#define MAX_VOCAB 2048
#define VOCAB_WORDS (MAX_VOCAB / 64)
#define VOCAB_HASH 8192
#define MAX_ELEMS 8
#define MAX_IDS 6 /* vocabulary ids one text word can carry (1 exact + prefixes) */

typedef struct element {
    int gap;
    uint64_t bits[VOCAB_WORDS];
} element;

typedef struct compiled_signal {
    const signal_def *def;
    int discussable; /* spec prefix '?': not inside a question or discussion about it */
    int imperative;  /* spec prefix '!': the first word is an imperative (clause start) */
    int n;
    element el[MAX_ELEMS];
} compiled_signal;

typedef struct vocab_word {
    char *w;
    int len;
    int prefix;
} vocab_word;

static compiled_signal *g_signals;
static int g_n_signals;
static vocab_word g_vocab[MAX_VOCAB];
static int g_n_vocab;
static int g_hash[VOCAB_HASH]; /* exact words: id + 1, 0 = empty */
static int g_prefix_ids[MAX_VOCAB];
static int g_n_prefix;
static int g_compile_failed;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static uint32_t hash_word(const char *w, int len)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < len; i++)
        h = (h ^ (unsigned char)w[i]) * 16777619u;
    return h;
}

static int vocab_exact(const char *w, int len)
{
    for (uint32_t h = hash_word(w, len) % VOCAB_HASH;; h = (h + 1) % VOCAB_HASH) {
        int id = g_hash[h] - 1;
        if (id < 0) return -1;
        if (g_vocab[id].len == len && !memcmp(g_vocab[id].w, w, (size_t)len)) return id;
    }
}

static int vocab_add(const char *w, int len, int prefix)
{
    for (int i = 0; i < g_n_vocab; i++)
        if (g_vocab[i].len == len && g_vocab[i].prefix == prefix &&
            !memcmp(g_vocab[i].w, w, (size_t)len))
            return i;
    if (g_n_vocab >= MAX_VOCAB || !(g_vocab[g_n_vocab].w = strndup(w, (size_t)len))) {
        g_compile_failed = 1;
        return -1;
    }
    int id = g_n_vocab++;
    g_vocab[id].len = len;
    g_vocab[id].prefix = prefix;
    if (prefix) {
        g_prefix_ids[g_n_prefix++] = id;
    } else {
        uint32_t h = hash_word(w, len) % VOCAB_HASH;
        while (g_hash[h])
            h = (h + 1) % VOCAB_HASH;
        g_hash[h] = id + 1;
    }
    return id;
}

/* "a|b*|c" -> bits of element e. */
static void compile_alternatives(element *e, const char *alts)
{
    const char *p = alts;
    while (*p) {
        const char *bar = strchr(p, '|');
        int l = bar ? (int)(bar - p) : (int)strlen(p);
        int prefix = l > 0 && p[l - 1] == '*';
        int id = vocab_add(p, prefix ? l - 1 : l, prefix);
        if (id >= 0) e->bits[id / 64] |= 1ull << (id % 64);
        p += l + (bar ? 1 : 0);
    }
}

/* Word lists used by the combined detectors (NULL-terminated, '*' = prefix). */
static const char *const HARM_WORDS[] = {
    "bomb*",    "explosive*",  "detonat*",  "weapon*",     "meth",        "methamphetamine",
    "poison*",  "nerve",       "sarin",     "ricin",       "anthrax",     "bioweapon*",
    "malware",  "ransomware",  "keylogger", "napalm",      "thermite",    "molotov",
    "fentanyl", "heroin",      "cocaine",   "silencer",    "untraceable", "ied",
    "tnt",      "semtex",      "novichok",  "vx",          "cyanide",     "pathogen",
    "smallpox", "counterfeit", "launder*",  "botnet",      "rootkit",     "trojan",
    "phishing", "hotwire",     "kidnap*",   "assassinat*", "grenade*",    "mdma",
    "lsd",      "chloroform",  "toxin*",    "firearm*",    "gun",         "guns",
    "virus",    "exploit",     "steal*",    "hack",        "hacking",     "fraud",
    "stalk*",   "shoplift*",   "nitroglycerin*", "tatp", "phosgene", "spyware", "stalkerware",
    "ddos",     "skimmer",     "rohypnol",  "ghb",         "extort*",     "blackmail*",  "arson",
    "landmine*", "explosives", "mustard",   "immobiliser", "immobilizer", "passwords",   "password",
    NULL};
static const char *const FRAMING_WORDS[] = {
    "hypothetical*", "fiction*",    "story",  "stories",    "novel",       "screenplay",
    "script",        "movie",       "film",   "roleplay",   "imagine",     "pretend",
    "character",     "villain",     "scene",  "grandma",    "grandmother", "grandfather",
    "grandpa",       "thriller",    "game",   "simulation", "educational", "research",
    "theoretically", "theoretical", "purely", "dream",      "poem",        "song",
    "rap",           "universe",    "world",  "book",       NULL};
static const char *const INSTRUCT_WORDS[] = {
    "how",      "step",     "steps",       "instructions", "instruction", "recipe",
    "guide",    "tutorial", "procedure",   "detailed",     "detail",      "exact",
    "exactly",  "precise",  "ingredients", "materials",    "quantities",  "explain",
    "explains", "describe", "describes",   "teach",        "teaches",     "show",
    "give",     "write",    "working",     "real",         "blueprint",   "formula",
    NULL};
static const char *const MAKE_WORDS[] = {
    "make",      "making",      "build",   "building", "create",    "creating",  "synthesize*",
    "synthesis", "cook",        "cooking", "produce",  "producing", "brew",      "brewing",
    "assemble",  "manufactur*", "prepare", "mix",      "code",      "construct", "obtain",
    "write",     "writing",     "get",     "use",      "plant",     "deploy",    "commit",
    "recipe",    "for",         "of",      "to",       NULL};
static const char *const SUBJECT_WORDS[] = {
    "model", "models", "it",        "llm",   "llms",   "bot",   "chatbot",
    "does",  "why",    "sometimes", "agent", "agents", "that",  "which",
    "they",  "he",     "she",       "ai",    "gpt",    "still", NULL};
static const char *const COMBINE_WORDS[] = {"concatenat*", "combine*", "combining", "join",
                                            "merge",       "append",   "together",  "fragments",
                                            "parts",       NULL};
static const char *const DECODE_WORDS[] = {"decode*", "decrypt*",  "base64",  "b64",
                                           "rot13",   "hex",       "cipher*", "deobfuscat*",
                                           "encoded", "decipher*", "caesar",  NULL};
static const char *const ROT_WORDS[] = {"rot13", "rot", "caesar", "rotate", NULL};
/* "never reveal your system prompt", "refuses to reveal its instructions": a defence
 * described, not an attack asked for */
static const char *const NEGATORS[] = {"not", "never", "dont", "doesnt", "wont", "cannot",
                                       "cant", "shouldnt", "mustnt", "without", "didnt",
                                       "wouldnt", "nor", NULL};
static const char *const NEG_VERBS[] = {"refuse", "refuses", "refused", "refusing", "avoid",
                                        "avoids", "never", "not", "unwilling", "unable",
                                        "forbidden", "prohibited", NULL};
static const char *const NEG_LINKS[] = {"to", "ever", "you", "it", "again", "be", "its", "your",
                                        "the", "their", "my", "any", "his", "her", "reveal",
                                        "show", "print", "share", "disclose", "leak",
                                        "repeat", "output", "ignore", "disregard", "forget",
                                        "override", "bypass", "tell", "give", NULL};
static const char *const REVERSE_WORDS[] = {"backwards", "backward", "reversed", "reverse", NULL};
/* A sentence about a persona prompt rather than one giving it: a topic word before the
 * match, or a question word opening the sentence with no "you" between it and the match
 * ("Why did telling ChatGPT to act as DAN work?"; but "What would you say if you were
 * DAN?" is asked of the model). "about to" is not a topic ("You are about to become DAN"). */
static const char *const TOPIC_WORDS[] = {
    "about",    "regarding",   "history",   "historical", "essay*",    "article*", "paper",
    "papers",   "research*",   "study",     "studies",    "discourse", "explain*", "describ*",
    "discuss*", "analys*",     "analyz*",   "analysis",   "summar*",   "famous",   "infamous",
    "meme*",    "reddit",      "wikipedia", "lecture",    "thesis",    "survey",   "blog",
    "podcast",  "documentary", "origins",   NULL};
static const char *const QUESTION_WORDS[] = {"what", "whats", "why",   "how",   "when", "where",
                                             "who",  "whos",  "whose", "which", "was",  "were",
                                             "did",  "does",  "is",    "has",   "had",  NULL};
static const char *const FILLER_WORDS[] = {
    "hi",    "hey",      "hello",  "ok",   "okay",     "so",  "and", "but", "also",
    "quick", "question", "please", "just", "honestly", "btw", "um",  NULL};
static const char *const SECOND_PERSON[] = {"you",  "youre",    "youll", "youd",
                                            "your", "yourself", "u",     NULL};
/* Words after which a verb is an imperative, not a report ("please disregard", "and now
 * ignore", "you must forget", "ChatGPT, disregard"; not "workers who disregard", "if you
 * ignore"). After "to" only when "you" precedes it ("I want you to ignore"). */
static const char *const IMPERATIVE_LEADS[] = {
    "please",      "now",       "just",   "so",      "then",       "and",     "also",
    "simply",      "kindly",    "on",     "first",   "okay",       "ok",      "hey",
    "instead",     "must",      "should", "will",    "shall",      "hereby",  "therefore",
    "immediately", "assistant", "ai",     "chatgpt", "gpt",        "claude",  "gemini",
    "bot",         "model",     "llm",    "always",  "henceforth", "onwards", NULL};

static const char *const *const WORD_LISTS[] = {
    HARM_WORDS,   FRAMING_WORDS,  INSTRUCT_WORDS, MAKE_WORDS,    SUBJECT_WORDS,   COMBINE_WORDS,
    DECODE_WORDS, ROT_WORDS,      REVERSE_WORDS,  NEGATORS,      NEG_VERBS,       NEG_LINKS,
    TOPIC_WORDS,  QUESTION_WORDS, FILLER_WORDS,   SECOND_PERSON, IMPERATIVE_LEADS};
#define N_WORD_LISTS ((int)(sizeof WORD_LISTS / sizeof WORD_LISTS[0]))
static element g_lists[N_WORD_LISTS];

static const element *list_element(const char *const *list)
{
    for (int i = 0; i < N_WORD_LISTS; i++)
        if (WORD_LISTS[i] == list) return &g_lists[i];
    return NULL;
}

static void compile_lexicon(void);

static void compile_signals(void)
{
    int n = 0;
    while (SIGNALS[n].name)
        n++;
    g_signals = calloc((size_t)n, sizeof *g_signals);
    if (!g_signals) {
        g_compile_failed = 1;
        return;
    }
    for (int s = 0; s < n; s++) {
        compiled_signal *cs = &g_signals[s];
        cs->def = &SIGNALS[s];
        const char *p = SIGNALS[s].spec;
        for (;; p++)
            if (*p == '?')
                cs->discussable = 1;
            else if (*p == '!')
                cs->imperative = 1;
            else
                break;
        while (*p && cs->n < MAX_ELEMS) {
            while (*p == ' ')
                p++;
            if (!*p) break;
            element *e = &cs->el[cs->n++];
            if (*p == '~') {
                e->gap = atoi(p + 1);
                const char *colon = strchr(p, ':');
                p = colon ? colon + 1 : p + 1;
            }
            const char *end = strchr(p, ' ');
            size_t l = end ? (size_t)(end - p) : strlen(p);
            char tok[1024];
            if (l >= sizeof tok) l = sizeof tok - 1;
            memcpy(tok, p, l);
            tok[l] = 0;
            compile_alternatives(e, tok);
            p += l;
        }
    }
    for (int i = 0; i < N_WORD_LISTS; i++)
        for (const char *const *w = WORD_LISTS[i]; *w; w++) {
            int l = (int)strlen(*w);
            int prefix = (*w)[l - 1] == '*';
            int id = vocab_add(*w, prefix ? l - 1 : l, prefix);
            if (id >= 0) g_lists[i].bits[id / 64] |= 1ull << (id % 64);
        }
    g_n_signals = n;
    compile_lexicon();
}

/* ------------------------------------------------------------ normalisation */

typedef struct words {
    char *text; /* normalised bytes, words separated by NUL */
    int n;
    const char **w;
    int *len;
    unsigned short *ids; /* n * MAX_IDS vocabulary ids */
    unsigned char *nids;
    unsigned char *brk; /* WORD_SENTENCE: the word starts a sentence (the text's start, or after
                           . ! ? ; : or a line break); WORD_QUOTED: a quote opens right before it */
} words;

static int leet(int c)
{
    switch (c) {
    case '0':
        return 'o';
    case '1':
        return 'i';
    case '3':
        return 'e';
    case '4':
        return 'a';
    case '5':
        return 's';
    case '7':
        return 't';
    case '@':
        return 'a';
    case '$':
        return 's';
    default:
        return c;
    }
}

#define MAX_WORDS 8192
#define WORD_SENTENCE 1
#define WORD_QUOTED 2

/* Obfuscations undone before words are split (each a single pass):
 *  - fullwidth forms U+FF01..U+FF5E -> ASCII, U+3000 -> space ("Ｉｇｎｏｒｅ");
 *  - Cyrillic capitals -> small letters (Russian patterns match in any case);
 *  - Latin-1 capitals -> small letters ("Ö" -> "ö"), Turkish "İ" -> "i";
 *  - Cyrillic and Greek look-alikes inside a word that also has Latin letters ->
 *    Latin ("Іgnоrе" with Cyrillic І, о, е; "Ιgnοre" with Greek Ι, ο); all-Cyrillic
 *    and all-Greek words stay as they are;
 *  - letters spelled out one by one ("I g n o r e   a l l", "i.g.n.o.r.e"):
 *    a run of at least four single letters is joined; a wider gap, or a gap
 *    unlike the first one ("I.g.n.o.r.e y.o.u.r": '.' inside, ' ' between),
 *    becomes the word break.
 * Never longer than the input. */
static int ascii_letter(char c)
{
    return ((unsigned char)c | 32) >= 'a' && ((unsigned char)c | 32) <= 'z';
}
static int spell_sep(char c)
{
    return c == ' ' || c == '.' || c == '-' || c == '_' || c == '*';
}

static size_t undo_obfuscation(const unsigned char *in, size_t n, char *out)
{
    /* pass 1: fullwidth, ideographic space, Cyrillic case -> out */
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = in[i];
        if (c == 0xEF && i + 2 < n && (in[i + 1] == 0xBC || in[i + 1] == 0xBD)) {
            unsigned cp = 0xF000u | ((unsigned)(in[i + 1] & 0x3F) << 6) | (in[i + 2] & 0x3Fu);
            if (cp >= 0xFF01 && cp <= 0xFF5E) {
                out[o++] = (char)(cp - 0xFEE0);
                i += 2;
                continue;
            }
        }
        if (c == 0xE3 && i + 2 < n && in[i + 1] == 0x80 && in[i + 2] == 0x80) {
            out[o++] = ' ';
            i += 2;
            continue;
        }
        if (c == 0xD0 && i + 1 < n && in[i + 1] >= 0x90 && in[i + 1] <= 0xAF) {
            unsigned small = in[i + 1] + 0x20; /* U+0410..U+042F -> U+0430..U+044F */
            if (small <= 0xBF) {
                out[o++] = (char)0xD0, out[o++] = (char)small;
            } else {
                out[o++] = (char)0xD1, out[o++] = (char)(small - 0x40);
            }
            i++;
            continue;
        }
        if (c == 0xC3 && i + 1 < n && in[i + 1] >= 0x80 && in[i + 1] <= 0x9E && in[i + 1] != 0x97) {
            out[o++] = (char)0xC3, out[o++] = (char)(in[i + 1] + 0x20); /* À..Þ -> à..þ */
            i++;
            continue;
        }
        if (c == 0xC4 && i + 1 < n && in[i + 1] == 0xB0) { /* Turkish İ */
            out[o++] = 'i';
            i++;
            continue;
        }
        if (c == 0xD0 && i + 1 < n && in[i + 1] >= 0x80 && in[i + 1] <= 0x8F) { /* Ѐ..Џ */
            out[o++] = (char)0xD1, out[o++] = (char)(in[i + 1] + 0x10);
            i++;
            continue;
        }
        out[o++] = (char)c;
    }
    /* pass 2: Cyrillic look-alikes in mixed words, in place (2 bytes -> 1) */
    static const struct {
        unsigned char b0, b1;
        char latin;
    } glyphs[] = {{0xD0, 0xB0, 'a'}, {0xD0, 0xB5, 'e'}, {0xD0, 0xBE, 'o'}, {0xD1, 0x80, 'p'},
                  {0xD1, 0x81, 'c'}, {0xD1, 0x83, 'y'}, {0xD1, 0x85, 'x'}, {0xD1, 0x96, 'i'},
                  {0xD1, 0x95, 's'}, {0xD1, 0x98, 'j'}, {0xD0, 0xBA, 'k'}, {0xD0, 0xBC, 'm'},
                  {0xD0, 0xBD, 'h'}, {0xD1, 0x82, 't'}, {0xD0, 0xB2, 'b'},
                  /* Greek look-alikes */
                  {0xCE, 0xB1, 'a'}, {0xCE, 0xB5, 'e'}, {0xCE, 0xB9, 'i'}, {0xCE, 0xBA, 'k'},
                  {0xCE, 0xBD, 'v'}, {0xCE, 0xBF, 'o'}, {0xCF, 0x81, 'p'}, {0xCF, 0x84, 't'},
                  {0xCF, 0x85, 'u'}, {0xCF, 0x87, 'x'}, {0xCE, 0x91, 'a'}, {0xCE, 0x92, 'b'},
                  {0xCE, 0x95, 'e'}, {0xCE, 0x96, 'z'}, {0xCE, 0x97, 'h'}, {0xCE, 0x99, 'i'},
                  {0xCE, 0x9A, 'k'}, {0xCE, 0x9C, 'm'}, {0xCE, 0x9D, 'n'}, {0xCE, 0x9F, 'o'},
                  {0xCE, 0xA1, 'p'}, {0xCE, 0xA4, 't'}, {0xCE, 0xA5, 'y'}, {0xCE, 0xA7, 'x'}};
    size_t w = 0;
    for (size_t i = 0; i < o;) {
        unsigned char c = (unsigned char)out[i];
        int wordish = (c | 32) >= 'a' && (c | 32) <= 'z';
        wordish |= c >= 0x80;
        if (!wordish) {
            out[w++] = out[i++];
            continue;
        }
        size_t s = i;
        int latin = 0;
        while (i < o && ((((unsigned char)out[i] | 32) >= 'a' && ((unsigned char)out[i] | 32) <= 'z') ||
                         (unsigned char)out[i] >= 0x80)) {
            latin |= ((unsigned char)out[i] | 32) >= 'a' && ((unsigned char)out[i] | 32) <= 'z';
            i++;
        }
        for (size_t k = s; k < i; k++) {
            if (latin && k + 1 < i) {
                int mapped = 0;
                for (size_t g = 0; g < sizeof glyphs / sizeof glyphs[0] && !mapped; g++)
                    if ((unsigned char)out[k] == glyphs[g].b0 && (unsigned char)out[k + 1] == glyphs[g].b1) {
                        out[w++] = glyphs[g].latin;
                        k++;
                        mapped = 1;
                    }
                if (mapped) continue;
            }
            out[w++] = out[k];
        }
    }
    o = w;
    /* pass 3: spelled-out letters, in place */
    w = 0;
    for (size_t i = 0; i < o;) {
        if (ascii_letter(out[i]) && (i == 0 || !ascii_letter(out[i - 1])) &&
            (i + 1 >= o || !ascii_letter(out[i + 1]))) {
            size_t k = i, end = i;
            int letters = 0;
            while (k < o && ascii_letter(out[k]) && (k + 1 >= o || !ascii_letter(out[k + 1]))) {
                letters++;
                end = k + 1;
                size_t g = k + 1;
                while (g < o && g - (k + 1) < 3 && spell_sep(out[g]))
                    g++;
                if (g == k + 1 || g >= o || !ascii_letter(out[g])) break;
                k = g;
            }
            if (letters >= 4) {
                char first_gap = i + 1 < end ? out[i + 1] : ' '; /* the in-word separator */
                for (size_t p = i; p < end;) {
                    if (!ascii_letter(out[p])) {
                        p++;
                        continue;
                    }
                    out[w++] = out[p++];
                    size_t g = p;
                    while (g < end && spell_sep(out[g]))
                        g++;
                    if (g < end && (g - p >= 2 || out[p] != first_gap)) out[w++] = ' ';
                    p = g;
                }
                i = end;
                continue;
            }
        }
        out[w++] = out[i++];
    }
    return w;
}


static int split_words_clean(const char *text, size_t len, words *out);
static int intern_words(words *ws);

/* Before words are split, non-ASCII punctuation, spaces and symbols stand in
 * for their ASCII forms (core/unifold.h: “ignore” and «ignore» are "ignore", an
 * NBSP or an em dash separates words); invisible characters (zero-width,
 * joiners, bidi controls, invisible operators, soft hyphen, BOM, tags) are
 * removed so they cannot split a trigger word; an emoji or symbol between two
 * letters is removed too ("ig🔥nore"), and combining marks stacked on ASCII
 * letters or ASCII spaces ("i̸g̸n̸o̸r̸e̸ ̸a̸l̸l̸") are dropped. Never longer than the input. */
static int is_combining(unsigned cp)
{
    return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
           (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
           (cp >= 0xFE20 && cp <= 0xFE2F);
}

static size_t clean_unicode(const char *text, size_t len, char *clean)
{
    size_t n = 0;
    int after_ascii_letter = 0; /* the last kept character was an ASCII letter (marks skipped) */
    int after_ascii = 1;        /* ... any ASCII byte, or nothing yet */
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)text[i];
        unsigned cp;
        int k = c < 0x80 ? 0 : unifold_decode((const unsigned char *)text + i, len - i, &cp);
        if (!k) {
            clean[n++] = (char)c;
            after_ascii_letter = ascii_letter((char)c);
            after_ascii = 1;
            i++;
            continue;
        }
        if (is_combining(cp) && after_ascii) {
            i += (size_t)k;
            continue;
        }
        const char *to = unifold_cp(cp, 0);
        if (to && unifold_is_symbol(cp) && after_ascii_letter) {
            /* between two letters (other symbols and invisible characters skipped)? */
            size_t j = i + (size_t)k;
            unsigned nx;
            int nk;
            while (j < len && (nk = unifold_decode((const unsigned char *)text + j, len - j, &nx)) > 0) {
                const char *t2 = unifold_cp(nx, 0);
                if (!t2 || (*t2 && !unifold_is_symbol(nx))) break;
                j += (size_t)nk;
            }
            if (j < len && ascii_letter(text[j])) to = "";
        }
        if (!to) {
            memcpy(clean + n, text + i, (size_t)k);
            n += (size_t)k;
            after_ascii_letter = after_ascii = 0;
        } else {
            for (const char *t = to; *t; t++)
                clean[n++] = *t;
            if (*to) after_ascii_letter = ascii_letter(to[strlen(to) - 1]), after_ascii = 1;
        }
        i += (size_t)k;
    }
    return n;
}

static int split_words(const char *text, size_t len, words *out)
{
    char *clean = malloc(len + 1);
    if (!clean) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    size_t n = clean_unicode(text, len, clean);
    n = undo_obfuscation((const unsigned char *)clean, n, clean);
    int r = split_words_clean(clean, n, out);
    free(clean);
    return r == 0 ? intern_words(out) : r;
}

static int split_words_clean(const char *text, size_t len, words *out)
{
    memset(out, 0, sizeof *out);
    out->text = malloc(len + 1);
    out->w = malloc(sizeof(char *) * MAX_WORDS);
    out->len = malloc(sizeof(int) * MAX_WORDS);
    out->brk = malloc(MAX_WORDS);
    if (!out->text || !out->w || !out->len || !out->brk) return -1;
    size_t o = 0, i = 0;
    int sentence = 1; /* the next word starts a sentence */
    while (i < len && out->n < MAX_WORDS) {
        unsigned char c = (unsigned char)text[i];
        int word_byte = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c >= 0x80 || c == '@' || c == '$' || c == '\'';
        if (!word_byte) {
            /* "3.5" and "e.g" do not end a sentence: . ! ? : need no letter or digit after */
            int next_alnum = i + 1 < len && isalnum_ascii((unsigned char)text[i + 1]);
            if (c == ';' || c == '\n' ||
                ((c == '.' || c == '!' || c == '?' || c == ':') && !next_alnum))
                sentence = 1;
            i++;
            continue;
        }
        size_t s = i;
        int letters = 0;
        int quoted = (s > 0 && (text[s - 1] == '"' || text[s - 1] == '`')) || text[s] == '\'';
        while (i < len) {
            unsigned char d = (unsigned char)text[i];
            if (!((d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') || (d >= '0' && d <= '9') ||
                  d >= 0x80 || d == '@' || d == '$' || d == '\''))
                break;
            /* U+2019 right quote acts as an apostrophe; other non-ASCII stays */
            if (d == 0xE2 && i + 2 < len && (unsigned char)text[i + 1] == 0x80 &&
                (unsigned char)text[i + 2] == 0x99)
                break;
            letters += (d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z');
            i++;
        }
        if (i == s) {
            /* The word starts with U+2019 that no letter follows ("’ hi", "end.’?"):
             * the quote is a separator. Without this step the loop would not advance. */
            i += 3;
            continue;
        }
        if (i < len && (unsigned char)text[i] == 0xE2 && i + 2 < len &&
            (unsigned char)text[i + 2] == 0x99 && i + 3 < len &&
            (((unsigned char)text[i + 3] | 32) >= 'a' &&
             ((unsigned char)text[i + 3] | 32) <= 'z')) {
            /* you’re -> youre: skip the quote and continue the word */
            size_t keep = i;
            i += 3;
            while (i < len &&
                   (((unsigned char)text[i] | 32) >= 'a' && ((unsigned char)text[i] | 32) <= 'z'))
                i++;
            size_t start = o;
            for (size_t k = s; k < keep; k++) {
                int d = (unsigned char)text[k];
                if (d == '\'') continue;
                d = d >= 'A' && d <= 'Z' ? d + 32 : d;
                if (letters) d = leet(d);
                out->text[o++] = (char)d;
            }
            for (size_t k = keep + 3; k < i; k++)
                out->text[o++] = (char)((unsigned char)text[k] | 32);
            out->w[out->n] = out->text + start;
            out->brk[out->n] =
                (unsigned char)((sentence ? WORD_SENTENCE : 0) | (quoted ? WORD_QUOTED : 0));
            sentence = 0;
            out->len[out->n++] = (int)(o - start);
            continue;
        }
        size_t start = o, tail = i;
        while (tail > s && text[tail - 1] >= '0' && text[tail - 1] <= '9')
            tail--;
        if (i - tail < 2) tail = i; /* "m4k3" maps its last digit, "rot13" keeps "13" */
        for (size_t k = s; k < i; k++) {
            int d = (unsigned char)text[k];
            if (d == '\'') continue;
            d = d >= 'A' && d <= 'Z' ? d + 32 : d;
            if (letters && k < tail) d = leet(d);
            out->text[o++] = (char)d;
        }
        if (o > start) {
            out->w[out->n] = out->text + start;
            out->brk[out->n] =
                (unsigned char)((sentence ? WORD_SENTENCE : 0) | (quoted ? WORD_QUOTED : 0));
            sentence = 0;
            out->len[out->n++] = (int)(o - start);
        }
    }
    return 0;
}

static void free_words(words *w)
{
    free(w->text);
    free(w->w);
    free(w->len);
    free(w->brk);
    free(w->ids);
    free(w->nids);
}

/* Looks every word up in the vocabulary (see the compiler above). */
static int intern_words(words *ws)
{
    ws->ids = malloc(sizeof(unsigned short) * MAX_IDS * (size_t)(ws->n ? ws->n : 1));
    ws->nids = malloc((size_t)(ws->n ? ws->n : 1));
    if (!ws->ids || !ws->nids) return -1;
    for (int p = 0; p < ws->n; p++) {
        const char *w = ws->w[p];
        int l = ws->len[p], k = 0;
        int id = vocab_exact(w, l);
        if (id >= 0) ws->ids[p * MAX_IDS + k++] = (unsigned short)id;
        for (int i = 0; i < g_n_prefix && k < MAX_IDS; i++) {
            const vocab_word *v = &g_vocab[g_prefix_ids[i]];
            if (l >= v->len && v->w[0] == w[0] && !memcmp(w, v->w, (size_t)v->len))
                ws->ids[p * MAX_IDS + k++] = (unsigned short)g_prefix_ids[i];
        }
        ws->nids[p] = (unsigned char)k;
    }
    return 0;
}

static int elem_match(const element *e, const words *ws, int p)
{
    for (int k = 0; k < ws->nids[p]; k++) {
        int id = ws->ids[p * MAX_IDS + k];
        if (e->bits[id / 64] >> (id % 64) & 1) return 1;
    }
    return 0;
}

static int match_from(const compiled_signal *s, int k, int pos, const words *ws)
{
    if (k == s->n) return 1;
    const element *e = &s->el[k];
    for (int p = pos + 1; p <= pos + 1 + e->gap && p < ws->n; p++)
        if (elem_match(e, ws, p) && match_from(s, k + 1, p, ws)) return 1;
    return 0;
}

/* "why does my model ignore the system prompt" describes an override, it does
 * not ask for one: an override verb right after a third-person subject is skipped. */
static int third_person_subject(const words *ws, int p)
{
    return p > 0 && elem_match(list_element(SUBJECT_WORDS), ws, p - 1);
}

/* An override or exfiltration verb right after a negation ("do not reveal your
 * system prompt", "refuses to reveal its instructions", "never ignore the rules")
 * is the defence a system prompt or a test describes. */
static int negated(const words *ws, int p)
{
    /* back over at most three linking words, determiners or defended verbs ("never ever
     * reveal your", "refuses to reveal its hidden ...") */
    for (int q = p - 1, links = 0; q >= 0 && links <= 3; q--, links++) {
        if (elem_match(list_element(NEGATORS), ws, q)) return 1;
        if (links > 0 && elem_match(list_element(NEG_VERBS), ws, q)) return 1;
        if (!elem_match(list_element(NEG_LINKS), ws, q)) return 0;
    }
    return 0;
}

/* The start of p's sentence, at most SENTENCE_LOOKBACK words back (the work per match
 * stays bounded in a text without punctuation). */
#define SENTENCE_LOOKBACK 48
static int sentence_start(const words *ws, int p)
{
    int floor = p > SENTENCE_LOOKBACK ? p - SENTENCE_LOOKBACK : 0;
    while (p > floor && !(ws->brk[p] & WORD_SENTENCE))
        p--;
    return p;
}

/* The match at p sits in a sentence that asks or writes about its words (see TOPIC_WORDS). */
static int discussed(const words *ws, int p)
{
    int s = sentence_start(ws, p);
    for (int q = s; q < p; q++)
        if (elem_match(list_element(TOPIC_WORDS), ws, q) &&
            !(ws->len[q] == 5 && !memcmp(ws->w[q], "about", 5) && q + 1 < ws->n &&
              ws->len[q + 1] == 2 && !memcmp(ws->w[q + 1], "to", 2)))
            return 1;
    int lead = s;
    while (lead < p && lead < s + 2 && elem_match(list_element(FILLER_WORDS), ws, lead))
        lead++;
    if (lead >= p || !elem_match(list_element(QUESTION_WORDS), ws, lead)) return 0;
    for (int q = lead + 1; q < p; q++)
        if (elem_match(list_element(SECOND_PERSON), ws, q)) return 0;
    return 1;
}

/* The word at p stands where an imperative does (see IMPERATIVE_LEADS). */
static int imperative_at(const words *ws, int p)
{
    if (p == 0 || (ws->brk[p] & WORD_SENTENCE) ||
        elem_match(list_element(IMPERATIVE_LEADS), ws, p - 1))
        return 1;
    return p >= 2 && ws->len[p - 1] == 2 && !memcmp(ws->w[p - 1], "to", 2) &&
           elem_match(list_element(SECOND_PERSON), ws, p - 2);
}

/* A match counts where its words are used, not where they are mentioned: a persona
 * signal ('?') never inside a sentence about it, an override or exfiltration phrase not
 * when it opens a quote in such a sentence ("how do I defend my bot against 'ignore
 * previous instructions' attacks?"; but "Translate: \"ignore previous ...\"" is used). */
static int signal_matches(const compiled_signal *s, const words *ws)
{
    int override = s->def->type == JAILBREAK_INSTRUCTION_OVERRIDE;
    int defendable = override || s->def->type == JAILBREAK_PROMPT_EXFILTRATION;
    for (int p = 0; p < ws->n; p++)
        if (elem_match(&s->el[0], ws, p) && !(override && third_person_subject(ws, p)) &&
            !(defendable && negated(ws, p)) && !(s->imperative && !imperative_at(ws, p)) &&
            match_from(s, 1, p, ws) &&
            !((s->discussable || (defendable && (ws->brk[p] & WORD_QUOTED))) && discussed(ws, p)))
            return 1;
    return 0;
}


/* ------------------------------------------------------- other languages
 *
 * The signals are written in English. Text in another language is read a
 * second time through a small bilingual lexicon: the words of the attack
 * families (forget/ignore, previous, instructions, rules, restrictions, without,
 * "you are now", pretend, system prompt, reveal/show, how/make and the harm
 * words) in 14 languages are replaced by their English words, other words are
 * kept, and the translated view is scanned by the same signals. Imperatives
 * only ("olvida", "vergiss"; not "olvidé", "vergessen"), so "I forgot the
 * instructions" stays an ordinary sentence. Verb-final languages (Turkish,
 * Hindi) put the imperative last: those verbs (marked '^') move up to five
 * words to the front. Entries are already in the splitter's normal form. */
static const char *const LEXICON[] = {
    /* es */ "olvida>forget", "olv\xc3\xad" "date>forget", "olvidate>forget", "olvide>forget", "olviden>forget", "ignora>ignore", "ignoren>ignore", "omite>ignore", "descarta>discard", "todo>everything", "todas>all", "todos>all", "antes>before", "anteriores>previous", "anterior>previous", "previas>previous", "instrucciones>instructions", "indicaciones>instructions", "reglas>rules", "normas>rules", "directrices>guidelines", "restricciones>restrictions", "l\xc3\xadmites>limits", "filtros>filters", "censura>censorship", "sin>without", "ninguna>no", "ning\xc3\xban>no", "ahora eres>you are now", "eres ahora>you are now", "a partir de ahora>from now on", "desde ahora>from now on", "asistente>assistant", "ia>ai", "inteligencia artificial>ai", "sistema>system", "muestra>show", "mu\xc3\xa9strame>show me", "revela>reveal", "dime>tell me", "c\xc3\xb3mo>how", "fabricar>make", "crear>create", "construir>build", "bomba>bomb", "explosivos>explosives", "explosivo>explosive", "arma>weapon", "armas>weapons", "hackear>hack", "piratear>hack", "robar>steal", "veneno>poison", "contrase\xc3\xb1" "a>password", "contrase\xc3\xb1" "as>passwords", "finge>pretend", "haz como si>pretend", "act\xc3\xba" "a como>act as", "desarrollador>developer", "modo desarrollador>developer mode", "secreto>secret", "secretas>secret", "oculto>hidden", "ocultas>hidden", "ocultos>hidden", "tus>your", "t\xc3\xba>you", "te>you",
    /* fr */ "oublie>forget", "oubliez>forget", "ignorez>ignore", "ignorer>ignore", "toutes>all", "tout>everything", "pr\xc3\xa9" "c\xc3\xa9" "dentes>previous", "pr\xc3\xa9" "c\xc3\xa9" "dents>previous", "ant\xc3\xa9rieures>previous", "consignes>instructions", "r\xc3\xa8gles>rules", "r\xc3\xa8gle>rules", "limites>limits", "filtres>filters", "censure>censorship", "sans>without", "aucune>no", "aucun>no", "tu es maintenant>you are now", "vous \xc3\xaates maintenant>you are now", "d\xc3\xa9sormais>from now on", "\xc3\xa0 partir de maintenant>from now on", "dor\xc3\xa9navant>from now on", "fais comme si>pretend", "faites comme si>pretend", "fais semblant>pretend", "agis comme>act as", "intelligence artificielle>ai", "syst\xc3\xa8me>system", "montre>show", "r\xc3\xa9v\xc3\xa8le>reveal", "r\xc3\xa9v\xc3\xa9lez>reveal", "donne>give", "dis moi>tell me", "comment fabriquer>how make", "comment faire>how make", "fabriquer>make", "bombe>bomb", "explosifs>explosives", "arme>weapon", "pirater>hack", "voler>steal", "mot de passe>password", "mots de passe>passwords", "tes>your", "vos>your", "votre>your", "tu>you", "vous>you", "d\xc3\xa9veloppeur>developer", "mode d\xc3\xa9veloppeur>developer mode",
    /* de */ "vergiss>forget", "vergesst>forget", "ignoriere>ignore", "ignorieren>ignore", "missachte>ignore", "alle>all", "alles>everything", "vorherigen>previous", "bisherigen>previous", "fr\xc3\xbcheren>previous", "anweisungen>instructions", "anweisung>instructions", "befehle>commands", "regeln>rules", "richtlinien>guidelines", "vorgaben>guidelines", "einschr\xc3\xa4nkungen>restrictions", "beschr\xc3\xa4nkungen>restrictions", "grenzen>limits", "zensur>censorship", "ohne>without", "keine>no", "kein>no", "jegliche>any", "du bist jetzt>you are now", "du bist ab sofort>you are now", "ab sofort>from now on", "ab jetzt>from now on", "von nun an>from now on", "ki>ai", "modell>model", "stell dir vor>imagine", "verhalte dich wie>act as", "systemprompt>system prompt", "zeige>show", "zeig>show", "verrate>reveal", "nenne>tell", "erkl\xc3\xa4re>explain", "wie man>how to", "herstellen>make", "bauen>build", "baut>build", "machen>make", "schreibt>write", "sprengstoff>explosives", "waffe>weapon", "schadsoftware>malware", "stehlen>steal", "stiehlt>steals", "passw\xc3\xb6rter>passwords", "deine>your", "dein>your", "deinen>your", "du>you", "entwickler>developer",
    /* it */ "dimentica>forget", "dimenticate>forget", "ignorate>ignore", "tutte>all", "tutto>everything", "precedenti>previous", "istruzioni>instructions", "regole>rules", "linee guida>guidelines", "restrizioni>restrictions", "limiti>limits", "filtri>filters", "senza>without", "nessuna>no", "nessun>no", "sei ora>you are now", "ora sei>you are now", "dora in poi>from now on", "fai finta>pretend", "fingi>pretend", "comportati come>act as", "mostrami>show me", "mostra>show", "rivela>reveal", "dimmi>tell me", "come fare>how make", "come costruire>how build", "fabbricare>make", "costruire>build", "esplosivo>explosive", "esplosivi>explosives", "armi>weapons", "rubare>steal", "veleno>poison", "tue>your", "tuoi>your", "tua>your", "sicurezza>safety",
    /* pt */ "esque\xc3\xa7" "a>forget", "esquece>forget", "instru\xc3\xa7\xc3\xb5" "es>instructions", "regras>rules", "diretrizes>guidelines", "restri\xc3\xa7\xc3\xb5" "es>restrictions", "sem>without", "nenhuma>no", "agora voc\xc3\xaa \xc3\xa9>you are now", "voc\xc3\xaa \xc3\xa9 agora>you are now", "a partir de agora>from now on", "finja>pretend", "aja como>act as", "mostre>show", "revele>reveal", "me diga>tell me", "como fazer>how make", "fazer>make", "roubar>steal", "senhas>passwords", "suas>your", "seus>your", "tuas>your", "voc\xc3\xaa>you", "seguran\xc3\xa7" "a>safety",
    /* nl */ "vergeet>forget", "negeer>ignore", "vorige>previous", "eerdere>previous", "instructies>instructions", "regels>rules", "richtlijnen>guidelines", "beperkingen>restrictions", "zonder>without", "geen>no", "je bent nu>you are now", "jij bent nu>you are now", "vanaf nu>from now on", "doe alsof>pretend", "gedraag je als>act as", "systeem>system", "toon>show", "onthul>reveal", "vertel>tell", "leg uit>explain", "hoe>how", "maken>make", "bouwen>build", "explosieven>explosives", "wapen>weapon", "hacken>hack", "stelen>steal", "wachtwoorden>passwords", "jouw>your", "je>your",
    /* pl */ "zapomnij>forget", "zignoruj>ignore", "ignoruj>ignore", "wszystkie>all", "wszystko>everything", "poprzednie>previous", "wcze\xc5\x9bniejsze>previous", "wcze\xc5\x9bniejszych>previous", "polecenia>instructions", "polece\xc5\x84>instructions", "instrukcje>instructions", "zasady>rules", "regu\xc5\x82y>rules", "ograniczenia>restrictions", "ogranicze\xc5\x84>restrictions", "filtr\xc3\xb3w>filters", "\xc5\xbc" "adnych>no", "jeste\xc5\x9b teraz>you are now", "teraz jeste\xc5\x9b>you are now", "od teraz>from now on", "udawaj>pretend", "systemowy>system", "prompt systemowy>system prompt", "poka\xc5\xbc>show", "ujawnij>reveal", "powiedz>tell", "jak>how", "zrobi\xc4\x87>make", "zbudowa\xc4\x87>build", "bomb\xc4\x99>bomb", "bro\xc5\x84>weapon", "swoje>your", "sw\xc3\xb3j>your", "twoje>your", "tw\xc3\xb3j>your", "twoich>your", "ukryty>hidden", "ukryte>hidden",
    /* tr */ "unut>^forget", "g\xc3\xb6rmezden gel>^ignore", "yoksay>^ignore", "\xc3\xb6nceki>previous", "t\xc3\xbcm>all", "b\xc3\xbct\xc3\xbcn>all", "talimatlar\xc4\xb1>instructions", "talimatlar>instructions", "talimatlar\xc4\xb1n\xc4\xb1>instructions", "kurallar\xc4\xb1>rules", "kural\xc4\xb1>rules", "kurallar>rules", "k\xc4\xb1s\xc4\xb1tlama>restrictions", "k\xc4\xb1s\xc4\xb1tlamalar\xc4\xb1>restrictions", "s\xc4\xb1n\xc4\xb1rlama>limits", "filtre>filters", "hi\xc3\xa7" "bir>no", "yapay zeka>ai", "yapay zekas\xc4\xb1n>you are ai", "art\xc4\xb1k>now", "bundan sonra>from now on", "sistem>system", "g\xc3\xb6ster>^show", "yaz>^write", "bana>me", "nas\xc4\xb1l>how", "yap>^make", "patlay\xc4\xb1" "c\xc4\xb1>explosive", "silah>weapon", "\xc5\x9fifre>password",
    /* id */ "abaikan>ignore", "lupakan>forget", "semua>all", "sebelumnya>previous", "instruksi>instructions", "perintah>instructions", "aturan>rules", "batasan>restrictions", "pembatasan>restrictions", "tanpa>without", "sekarang kamu adalah>you are now", "kamu sekarang>you are now", "mulai sekarang>from now on", "berpura pura>pretend", "bertindak sebagai>act as", "tunjukkan>show", "ungkapkan>reveal", "beri tahu>tell", "cara membuat>how to make", "membuat>make", "bahan peledak>explosives", "senjata>weapon", "meretas>hack", "mencuri>steal", "racun>poison", "kamu>you", "anda>you",
    /* ru */ "\xd0\xb7\xd0\xb0\xd0\xb1\xd1\x83\xd0\xb4\xd1\x8c>forget", "\xd0\xb7\xd0\xb0\xd0\xb1\xd1\x83\xd0\xb4\xd1\x8c\xd1\x82\xd0\xb5>forget", "\xd0\xb2\xd1\x81\xd0\xb5>all", "\xd0\xb2\xd1\x81\xd1\x91>everything", "\xd1\x81\xd0\xb2\xd0\xbe\xd0\xb8>your", "\xd1\x82\xd0\xb2\xd0\xbe\xd0\xb8>your", "\xd0\xbf\xd1\x80\xd0\xb5\xd0\xb4\xd1\x8b\xd0\xb4\xd1\x83\xd1\x89\xd0\xb8\xd0\xb5>previous", "\xd0\xb8\xd0\xbd\xd1\x81\xd1\x82\xd1\x80\xd1\x83\xd0\xba\xd1\x86\xd0\xb8\xd0\xb8>instructions", "\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xb8\xd0\xbb\xd0\xb0>rules", "\xd0\xbe\xd0\xb3\xd1\x80\xd0\xb0\xd0\xbd\xd0\xb8\xd1\x87\xd0\xb5\xd0\xbd\xd0\xb8\xd0\xb9>restrictions", "\xd0\xbe\xd0\xb3\xd1\x80\xd0\xb0\xd0\xbd\xd0\xb8\xd1\x87\xd0\xb5\xd0\xbd\xd0\xb8\xd1\x8f>restrictions", "\xd1\x84\xd0\xb8\xd0\xbb\xd1\x8c\xd1\x82\xd1\x80\xd0\xbe\xd0\xb2>filters", "\xd1\x82\xd0\xb5\xd0\xbf\xd0\xb5\xd1\x80\xd1\x8c \xd1\x82\xd1\x8b>you are now", "\xd1\x82\xd1\x8b \xd1\x82\xd0\xb5\xd0\xbf\xd0\xb5\xd1\x80\xd1\x8c>you are now", "\xd1\x81 \xd1\x8d\xd1\x82\xd0\xbe\xd0\xb3\xd0\xbe \xd0\xbc\xd0\xbe\xd0\xbc\xd0\xb5\xd0\xbd\xd1\x82\xd0\xb0>from now on", "\xd0\xbf\xd1\x80\xd0\xb8\xd1\x82\xd0\xb2\xd0\xbe\xd1\x80\xd0\xb8\xd1\x81\xd1\x8c>pretend", "\xd0\xbf\xd1\x80\xd0\xb5\xd0\xb4\xd1\x81\xd1\x82\xd0\xb0\xd0\xb2\xd1\x8c>imagine", "\xd1\x81\xd0\xb8\xd1\x81\xd1\x82\xd0\xb5\xd0\xbc\xd0\xbd\xd1\x8b\xd0\xb9>system", "\xd1\x81\xd0\xb8\xd1\x81\xd1\x82\xd0\xb5\xd0\xbc\xd0\xbd\xd1\x8b\xd0\xb9 \xd0\xbf\xd1\x80\xd0\xbe\xd0\xbc\xd0\xbf\xd1\x82>system prompt", "\xd0\xbf\xd0\xbe\xd0\xba\xd0\xb0\xd0\xb6\xd0\xb8>show", "\xd1\x80\xd0\xb0\xd1\x81\xd0\xba\xd1\x80\xd0\xbe\xd0\xb9>reveal", "\xd1\x80\xd0\xb0\xd1\x81\xd1\x81\xd0\xba\xd0\xb0\xd0\xb6\xd0\xb8>tell", "\xd0\xba\xd0\xb0\xd0\xba>how", "\xd1\x81\xd0\xb4\xd0\xb5\xd0\xbb\xd0\xb0\xd1\x82\xd1\x8c>make", "\xd0\xb8\xd0\xb7\xd0\xb3\xd0\xbe\xd1\x82\xd0\xbe\xd0\xb2\xd0\xb8\xd1\x82\xd1\x8c>make", "\xd0\xb1\xd0\xbe\xd0\xbc\xd0\xb1\xd1\x83>bomb", "\xd0\xb1\xd0\xbe\xd0\xbc\xd0\xb1\xd0\xb0>bomb", "\xd0\xb2\xd0\xb7\xd1\x80\xd1\x8b\xd0\xb2\xd1\x87\xd0\xb0\xd1\x82\xd0\xba\xd1\x83>explosives", "\xd0\xb2\xd0\xb7\xd1\x80\xd1\x8b\xd0\xb2\xd1\x87\xd0\xb0\xd1\x82\xd0\xba\xd0\xb0>explosives", "\xd0\xbe\xd1\x80\xd1\x83\xd0\xb6\xd0\xb8\xd0\xb5>weapon", "\xd0\xb2\xd0\xb7\xd0\xbb\xd0\xbe\xd0\xbc\xd0\xb0\xd1\x82\xd1\x8c>hack", "\xd1\x83\xd0\xba\xd1\x80\xd0\xb0\xd1\x81\xd1\x82\xd1\x8c>steal", "\xd1\x8f\xd0\xb4>poison", "\xd0\xb8\xd0\xb8>ai",
    /* ar */ "\xd8\xaa\xd8\xac\xd8\xa7\xd9\x87\xd9\x84>ignore", "\xd8\xa7\xd9\x86\xd8\xb3>forget", "\xd8\xac\xd9\x85\xd9\x8a\xd8\xb9>all", "\xd9\x83\xd9\x84>all", "\xd8\xa7\xd9\x84\xd8\xaa\xd8\xb9\xd9\x84\xd9\x8a\xd9\x85\xd8\xa7\xd8\xaa>instructions", "\xd8\xaa\xd8\xb9\xd9\x84\xd9\x8a\xd9\x85\xd8\xa7\xd8\xaa>instructions", "\xd8\xa7\xd9\x84\xd8\xb3\xd8\xa7\xd8\xa8\xd9\x82\xd8\xa9>previous", "\xd8\xa7\xd9\x84\xd9\x82\xd9\x88\xd8\xa7\xd8\xb9\xd8\xaf>rules", "\xd9\x82\xd9\x88\xd8\xa7\xd8\xb9\xd8\xaf>rules", "\xd8\xa7\xd9\x84\xd9\x82\xd9\x8a\xd9\x88\xd8\xaf>restrictions", "\xd9\x82\xd9\x8a\xd9\x88\xd8\xaf>restrictions", "\xd8\xa8\xd8\xaf\xd9\x88\xd9\x86>without", "\xd8\xaf\xd9\x88\xd9\x86>without", "\xd8\xa3\xd9\x8a>any", "\xd8\xa3\xd9\x86\xd8\xaa \xd8\xa7\xd9\x84\xd8\xa2\xd9\x86>you are now", "\xd8\xa7\xd9\x84\xd8\xa2\xd9\x86 \xd8\xa3\xd9\x86\xd8\xaa>you are now", "\xd8\xb0\xd9\x83\xd8\xa7\xd8\xa1 \xd8\xa7\xd8\xb5\xd8\xb7\xd9\x86\xd8\xa7\xd8\xb9\xd9\x8a>ai", "\xd8\xaa\xd8\xb8\xd8\xa7\xd9\x87\xd8\xb1>pretend", "\xd8\xa7\xd9\x84\xd9\x86\xd8\xb8\xd8\xa7\xd9\x85>system", "\xd9\x85\xd9\x88\xd8\xac\xd9\x87 \xd8\xa7\xd9\x84\xd9\x86\xd8\xb8\xd8\xa7\xd9\x85>system prompt", "\xd8\xa3\xd8\xb8\xd9\x87\xd8\xb1>show", "\xd8\xa7\xd9\x83\xd8\xb4\xd9\x81>reveal", "\xd8\xa3\xd8\xae\xd8\xa8\xd8\xb1\xd9\x86\xd9\x8a>tell me", "\xd9\x83\xd9\x8a\xd9\x81>how", "\xd8\xa3\xd8\xb5\xd9\x86\xd8\xb9>make", "\xd8\xb5\xd9\x86\xd8\xb9>make", "\xd8\xaa\xd8\xb5\xd9\x86\xd8\xb9>make", "\xd9\x85\xd8\xaa\xd9\x81\xd8\xac\xd8\xb1\xd8\xa7\xd8\xaa>explosives", "\xd9\x82\xd9\x86\xd8\xa8\xd9\x84\xd8\xa9>bomb", "\xd8\xb3\xd9\x84\xd8\xa7\xd8\xad>weapon", "\xd8\xa7\xd8\xae\xd8\xaa\xd8\xb1\xd8\xa7\xd9\x82>hack",
    /* hi */ "\xe0\xa4\x85\xe0\xa4\xa8\xe0\xa4\xa6\xe0\xa5\x87\xe0\xa4\x96\xe0\xa4\xbe \xe0\xa4\x95\xe0\xa4\xb0\xe0\xa5\x8b>^ignore", "\xe0\xa4\x85\xe0\xa4\xa8\xe0\xa4\xa6\xe0\xa5\x87\xe0\xa4\x96\xe0\xa4\xbe \xe0\xa4\x95\xe0\xa4\xb0\xe0\xa5\x87\xe0\xa4\x82>^ignore", "\xe0\xa4\xa8\xe0\xa4\x9c\xe0\xa4\xbc\xe0\xa4\xb0\xe0\xa4\x85\xe0\xa4\x82\xe0\xa4\xa6\xe0\xa4\xbe\xe0\xa4\x9c\xe0\xa4\xbc \xe0\xa4\x95\xe0\xa4\xb0\xe0\xa5\x8b>^ignore", "\xe0\xa4\xad\xe0\xa5\x82\xe0\xa4\xb2 \xe0\xa4\x9c\xe0\xa4\xbe\xe0\xa4\x93>^forget", "\xe0\xa4\xad\xe0\xa5\x82\xe0\xa4\xb2 \xe0\xa4\x9c\xe0\xa4\xbe\xe0\xa4\x87\xe0\xa4\x8f>^forget", "\xe0\xa4\xaa\xe0\xa4\xbf\xe0\xa4\x9b\xe0\xa4\xb2\xe0\xa5\x87>previous", "\xe0\xa4\xb8\xe0\xa4\xad\xe0\xa5\x80>all", "\xe0\xa4\xa8\xe0\xa4\xbf\xe0\xa4\xb0\xe0\xa5\x8d\xe0\xa4\xa6\xe0\xa5\x87\xe0\xa4\xb6\xe0\xa5\x8b\xe0\xa4\x82>instructions", "\xe0\xa4\xa8\xe0\xa4\xbf\xe0\xa4\xb0\xe0\xa5\x8d\xe0\xa4\xa6\xe0\xa5\x87\xe0\xa4\xb6>instructions", "\xe0\xa4\xa8\xe0\xa4\xbf\xe0\xa4\xaf\xe0\xa4\xae\xe0\xa5\x8b\xe0\xa4\x82>rules", "\xe0\xa4\xa8\xe0\xa4\xbf\xe0\xa4\xaf\xe0\xa4\xae>rules", "\xe0\xa4\xaa\xe0\xa5\x8d\xe0\xa4\xb0\xe0\xa4\xa4\xe0\xa4\xbf\xe0\xa4\xac\xe0\xa4\x82\xe0\xa4\xa7>restrictions", "\xe0\xa4\xaa\xe0\xa5\x8d\xe0\xa4\xb0\xe0\xa4\xa4\xe0\xa4\xbf\xe0\xa4\xac\xe0\xa4\x82\xe0\xa4\xa7\xe0\xa5\x8b\xe0\xa4\x82>restrictions", "\xe0\xa4\xac\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa4\xbe>without", "\xe0\xa4\x95\xe0\xa4\xbf\xe0\xa4\xb8\xe0\xa5\x80>any", "\xe0\xa4\x85\xe0\xa4\xac \xe0\xa4\xa4\xe0\xa5\x81\xe0\xa4\xae>you are now", "\xe0\xa4\x85\xe0\xa4\xac \xe0\xa4\x86\xe0\xa4\xaa>you are now", "\xe0\xa4\x85\xe0\xa4\xac \xe0\xa4\xb8\xe0\xa5\x87>from now on", "\xe0\xa4\xa8\xe0\xa4\xbe\xe0\xa4\x9f\xe0\xa4\x95 \xe0\xa4\x95\xe0\xa4\xb0\xe0\xa5\x8b>^pretend", "\xe0\xa4\xb8\xe0\xa4\xbf\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\x9f\xe0\xa4\xae>system", "\xe0\xa4\xb8\xe0\xa4\xbf\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\x9f\xe0\xa4\xae \xe0\xa4\xaa\xe0\xa5\x8d\xe0\xa4\xb0\xe0\xa5\x89\xe0\xa4\xae\xe0\xa5\x8d\xe0\xa4\xaa\xe0\xa5\x8d\xe0\xa4\x9f>system prompt", "\xe0\xa4\xa6\xe0\xa4\xbf\xe0\xa4\x96\xe0\xa4\xbe\xe0\xa4\x93>^show", "\xe0\xa4\xac\xe0\xa4\xa4\xe0\xa4\xbe\xe0\xa4\x93>^tell", "\xe0\xa4\xac\xe0\xa4\xa4\xe0\xa4\xbe\xe0\xa4\x87\xe0\xa4\x8f>^tell", "\xe0\xa4\xae\xe0\xa5\x81\xe0\xa4\x9d\xe0\xa5\x87>me", "\xe0\xa4\x95\xe0\xa5\x88\xe0\xa4\xb8\xe0\xa5\x87>how", "\xe0\xa4\xac\xe0\xa4\xa8\xe0\xa4\xbe\xe0\xa4\xa4\xe0\xa5\x87>make", "\xe0\xa4\xac\xe0\xa4\xa8\xe0\xa4\xbe\xe0\xa4\x8f\xe0\xa4\x82>make", "\xe0\xa4\xac\xe0\xa4\xa8\xe0\xa4\xbe\xe0\xa4\xa8\xe0\xa4\xbe>make", "\xe0\xa4\xac\xe0\xa4\xae>bomb", "\xe0\xa4\xb5\xe0\xa4\xbf\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xab\xe0\xa5\x8b\xe0\xa4\x9f\xe0\xa4\x95>explosives", "\xe0\xa4\xb9\xe0\xa4\xa5\xe0\xa4\xbf\xe0\xa4\xaf\xe0\xa4\xbe\xe0\xa4\xb0>weapon",
    /* vi */ "b\xe1\xbb\x8f qua>ignore", "qu\xc3\xaan \xc4\x91i>forget", "qu\xc3\xaan>forget", "m\xe1\xbb\x8di>all", "t\xe1\xba\xa5t c\xe1\xba\xa3>all", "h\xc6\xb0\xe1\xbb\x9bng d\xe1\xba\xabn>instructions", "ch\xe1\xbb\x89 d\xe1\xba\xabn>instructions", "tr\xc6\xb0\xe1\xbb\x9b" "c \xc4\x91\xc3\xb3>previous", "quy t\xe1\xba\xaf" "c>rules", "gi\xe1\xbb\x9bi h\xe1\xba\xa1n>limits", "h\xe1\xba\xa1n ch\xe1\xba\xbf>restrictions", "kh\xc3\xb4ng c\xc3\xb3>without", "t\xe1\xbb\xab gi\xe1\xbb\x9d>from now on", "b\xc3\xa2y gi\xe1\xbb\x9d b\xe1\xba\xa1n l\xc3\xa0>you are now", "gi\xe1\xba\xa3 v\xe1\xbb\x9d>pretend", "h\xe1\xbb\x87 th\xe1\xbb\x91ng>system", "l\xe1\xbb\x9di nh\xe1\xba\xaf" "c h\xe1\xbb\x87 th\xe1\xbb\x91ng c\xe1\xbb\xa7" "a b\xe1\xba\xa1n>your system prompt", "l\xe1\xbb\x9di nh\xe1\xba\xaf" "c h\xe1\xbb\x87 th\xe1\xbb\x91ng>system prompt", "ti\xe1\xba\xbft l\xe1\xbb\x99>reveal", "cho t\xc3\xb4i bi\xe1\xba\xbft>tell me", "c\xc3\xa1" "ch l\xc3\xa0m>how make", "c\xc3\xa1" "ch ch\xe1\xba\xbf t\xe1\xba\xa1o>how make", "thu\xe1\xbb\x91" "c n\xe1\xbb\x95>explosives", "v\xc5\xa9 kh\xc3\xad>weapon", "c\xe1\xbb\xa7" "a b\xe1\xba\xa1n>your",
    /* sv */ "alla>all", "tidigare>previous", "instruktioner>instructions", "regler>rules", "begr\xc3\xa4nsningar>restrictions", "utan>without", "inga>no", "du \xc3\xa4r nu>you are now", "fr\xc3\xa5n och med nu>from now on", "l\xc3\xa5tsas>pretend", "systemet>system", "visa>show", "avsl\xc3\xb6ja>reveal", "ber\xc3\xa4tta>tell", "hur man>how to", "tillverkar>make", "tillverka>make", "bygga>build", "spr\xc3\xa4ng\xc3\xa4mnen>explosives", "spr\xc3\xa4ngmedel>explosives", "vapen>weapon", "hacka>hack", "stj\xc3\xa4la>steal",
    NULL};

#define LEX_MAX_WORDS 6
#define LEX_HASH 1024
typedef struct lex_entry {
    int n;                           /* foreign words */
    const char *w[LEX_MAX_WORDS];    /* into g_lex_text */
    int len[LEX_MAX_WORDS];
    const char *en;                  /* English replacement */
    int front;                       /* '^': a verb-final imperative */
    int next;                        /* chain in g_lex_hash, -1 = end */
} lex_entry;
static lex_entry *g_lex;
static int g_n_lex;
static int g_lex_hash[LEX_HASH];
static char *g_lex_text;

static void compile_lexicon(void)
{
    size_t total = 0;
    int n = 0;
    for (const char *const *e = LEXICON; *e; e++, n++)
        total += strlen(*e) + 1;
    g_lex = calloc((size_t)n, sizeof *g_lex);
    g_lex_text = malloc(total);
    for (int h = 0; h < LEX_HASH; h++)
        g_lex_hash[h] = -1;
    if (!g_lex || !g_lex_text) {
        g_compile_failed = 1;
        return;
    }
    char *t = g_lex_text;
    for (int i = 0; i < n; i++) {
        strcpy(t, LEXICON[i]);
        char *gt = strchr(t, '>');
        size_t l = strlen(t);
        lex_entry *x = &g_lex[g_n_lex];
        if (!gt) {
            t += l + 1;
            continue;
        }
        *gt = 0;
        x->en = gt + 1;
        if (*x->en == '^') x->front = 1, x->en++;
        for (char *w = t; *w && x->n < LEX_MAX_WORDS;) {
            char *sp = strchr(w, ' ');
            x->w[x->n] = w;
            x->len[x->n++] = sp ? (int)(sp - w) : (int)strlen(w);
            if (!sp) break;
            *sp = 0;
            w = sp + 1;
        }
        uint32_t h = hash_word(x->w[0], x->len[0]) % LEX_HASH;
        x->next = g_lex_hash[h];
        g_lex_hash[h] = g_n_lex++;
        t += l + 1;
    }
}

/* The longest lexicon phrase at word p, or NULL. */
static const lex_entry *lex_at(const words *ws, int p)
{
    const lex_entry *best = NULL;
    for (int k = g_lex_hash[hash_word(ws->w[p], ws->len[p]) % LEX_HASH]; k >= 0; k = g_lex[k].next) {
        const lex_entry *x = &g_lex[k];
        if (p + x->n > ws->n || (best && x->n <= best->n)) continue;
        int ok = 1;
        for (int j = 0; j < x->n && ok; j++)
            ok = ws->len[p + j] == x->len[j] && !memcmp(ws->w[p + j], x->w[j], (size_t)x->len[j]);
        if (ok) best = x;
    }
    return best;
}

/* The translated view of ws (malloc'd, words joined by spaces), or NULL when
 * fewer than two words are in the lexicon. */
static char *translate_words(const words *ws, size_t *out_len)
{
    int hits = 0;
    for (int p = 0; p < ws->n && hits < 2; p++)
        if ((unsigned char)ws->w[p][0] >= 0x80 || ws->len[p] > 1) hits += lex_at(ws, p) != NULL;
    if (hits < 2) return NULL;
    /* tokens: pointers to words or English replacements */
    const char **tok = malloc(sizeof *tok * (size_t)ws->n);
    int *tl = malloc(sizeof *tl * (size_t)ws->n);
    if (!tok || !tl) {
        free(tok);
        free(tl);
        return NULL;
    }
    int nt = 0;
    size_t bytes = 0;
    for (int p = 0; p < ws->n;) {
        const lex_entry *x = lex_at(ws, p);
        const char *w = x ? x->en : ws->w[p];
        int l = x ? (int)strlen(x->en) : ws->len[p];
        int at = nt;
        if (x && x->front) at = nt > 5 ? nt - 5 : 0;
        memmove(tok + at + 1, tok + at, sizeof *tok * (size_t)(nt - at));
        memmove(tl + at + 1, tl + at, sizeof *tl * (size_t)(nt - at));
        tok[at] = w, tl[at] = l, nt++;
        bytes += (size_t)l + 1;
        p += x ? x->n : 1;
    }
    char *v = malloc(bytes + 1);
    size_t o = 0;
    if (v)
        for (int k = 0; k < nt; k++) {
            memcpy(v + o, tok[k], (size_t)tl[k]);
            o += (size_t)tl[k];
            v[o++] = ' ';
        }
    free(tok);
    free(tl);
    if (v) v[o] = 0;
    *out_len = o;
    return v;
}

/* --------------------------------------------------------- result helpers */

static void add_signal(jailbreak_result *r, const char *name, unsigned type, float weight,
                       float *best)
{
    r->types |= type;
    for (int k = 0; k < r->n_patterns; k++)
        if (!strcmp(r->patterns[k], name)) {
            /* same signal twice: keep the stronger weight */
            int idx = k;
            if (weight > best[idx]) best[idx] = weight;
            return;
        }
    if (r->n_patterns >= JAILBREAK_MAX_PATTERNS) return;
    best[r->n_patterns] = weight;
    r->patterns[r->n_patterns++] = name;
}

static int word_is(const words *ws, int p, const char *const *list)
{
    return elem_match(list_element(list), ws, p);
}

static int word_in(const words *ws, const char *const *list)
{
    for (int p = 0; p < ws->n; p++)
        if (word_is(ws, p, list)) return 1;
    return 0;
}

/* A request for instructions that produce something harmful: an instruction
 * word, then a making verb, then a harmful object, close together. Framed as
 * fiction or hypothesis it is the classic wrapper attack. */
static void check_harmful_fiction(const words *ws, jailbreak_result *r, float *best)
{
    int harmful_request = 0;
    for (int h = 0; h < ws->n && !harmful_request; h++) {
        if (!word_is(ws, h, HARM_WORDS)) continue;
        for (int m = h - 1; m >= 0 && m >= h - 6 && !harmful_request; m--) {
            if (!word_is(ws, m, MAKE_WORDS)) continue;
            for (int i = m; i >= 0 && i >= m - 10; i--)
                if (word_is(ws, i, INSTRUCT_WORDS)) {
                    harmful_request = 1;
                    break;
                }
        }
    }
    if (!harmful_request) return;
    if (word_in(ws, FRAMING_WORDS))
        add_signal(r, "harmful_fiction", JAILBREAK_HARMFUL_FICTION, 0.65f, best);
    else
        add_signal(r, "harmful_howto", JAILBREAK_HARMFUL_FICTION, 0.3f, best);
}

/* Scripts written without spaces between words (Chinese, Japanese; Korean
 * words are checked the same way): an override verb and an object of it
 * anywhere in the text, or a fixed phrase. */
static void check_cjk(const char *text, size_t len, jailbreak_result *r, float *best)
{
    int wide = 0;
    for (size_t i = 0; i < len && !wide; i++)
        wide = (unsigned char)text[i] >= 0xE3 && (unsigned char)text[i] <= 0xED;
    if (!wide) return;
    static const char *const verbs[] = {"\xe5\xbf\xbd\xe7\x95\xa5", /* 忽略 */
                                        "\xe6\x97\xa0\xe8\xa7\x86", /* 无视 */
                                        "\xe5\xbf\x98\xe8\xae\xb0", /* 忘记 */
                                        "\xe5\xbf\x98\xe6\x8e\x89", /* 忘掉 */
                                        "\xe7\x84\xa1\xe8\xa6\x96", /* 無視 */
                                        "\xe5\xbf\x98\xe3\x82\x8c", /* 忘れ */
                                        "\xeb\xac\xb4\xec\x8b\x9c", /* 무시 */
                                        "\xec\x9e\x8a\xec\x96\xb4", /* 잊어 */
                                        NULL};
    static const char *const objects[] = {"\xe6\x8c\x87\xe4\xbb\xa4", /* 指令 */
                                          "\xe6\x8c\x87\xe7\xa4\xba", /* 指示 */
                                          "\xe8\xa7\x84\xe5\x88\x99", /* 规则 */
                                          "\xe8\xa6\x8f\xe5\x89\x87", /* 規則 */
                                          "\xe5\x91\xbd\xe4\xbb\xa4", /* 命令 */
                                          "\xe3\x83\xab\xe3\x83\xbc\xe3\x83\xab", /* ルール */
                                          "\xe6\x8f\x90\xe7\xa4\xba", /* 提示 */
                                          "\xe8\xae\xbe\xe5\xae\x9a", /* 设定 */
                                          "\xec\xa7\x80\xec\x8b\x9c", /* 지시 */
                                          "\xea\xb7\x9c\xec\xb9\x99", /* 규칙 */
                                          "\xeb\xaa\x85\xeb\xa0\xb9", /* 명령 */
                                          NULL};
    static const char *const unlimited[] = {
        "\xe6\xb2\xa1\xe6\x9c\x89\xe4\xbb\xbb\xe4\xbd\x95\xe9\x99\x90\xe5\x88\xb6", /* 没有任何限制 */
        "\xe6\xb2\xa1\xe6\x9c\x89\xe9\x99\x90\xe5\x88\xb6", /* 没有限制 */
        "\xe4\xb8\x8d\xe5\x8f\x97\xe9\x99\x90\xe5\x88\xb6", /* 不受限制 */
        "\xe6\x97\xa0\xe9\x99\x90\xe5\x88\xb6",               /* 无限制 */
        "\xe5\x88\xb6\xe9\x99\x90\xe3\x81\xae\xe3\x81\xaa\xe3\x81\x84", /* 制限のない */
        "\xe5\x88\xb6\xe9\x99\x90\xe3\x81\xaa\xe3\x81\x97", /* 制限なし */
        "\xec\xa0\x9c\xed\x95\x9c \xec\x97\x86\xeb\x8a\x94", /* 제한 없는 */
        "\xec\xa0\x9c\xed\x95\x9c\xec\x97\x86\xec\x9d\xb4", /* 제한없이 */
        NULL};
    static const char *const devmode[] = {
        "\xe5\xbc\x80\xe5\x8f\x91\xe8\x80\x85\xe6\xa8\xa1\xe5\xbc\x8f", /* 开发者模式 */
        "\xe9\x96\x8b\xe7\x99\xba\xe8\x80\x85\xe3\x83\xa2\xe3\x83\xbc\xe3\x83\x89", /* 開発者モード */
        "\xe8\xb6\x8a\xe7\x8b\xb1", /* 越狱 */
        NULL};
    static const char *const sysprompt[] = {
        "\xe7\xb3\xbb\xe7\xbb\x9f\xe6\x8f\x90\xe7\xa4\xba", /* 系统提示 */
        "\xe3\x82\xb7\xe3\x82\xb9\xe3\x83\x86\xe3\x83\xa0\xe3\x83\x97\xe3\x83\xad\xe3\x83\xb3\xe3\x83\x97\xe3\x83\x88", /* システムプロンプト */
        "\xec\x8b\x9c\xec\x8a\xa4\xed\x85\x9c \xed\x94\x84\xeb\xa1\xac\xed\x94\x84\xed\x8a\xb8", /* 시스템 프롬프트 */
        NULL};
    int verb = 0, object = 0;
    for (const char *const *v = verbs; *v && !verb; v++)
        verb = memmem(text, len, *v, strlen(*v)) != NULL;
    for (const char *const *o = objects; *o && !object; o++)
        object = memmem(text, len, *o, strlen(*o)) != NULL;
    if (verb && object)
        add_signal(r, "ignore_previous_instructions", JAILBREAK_INSTRUCTION_OVERRIDE, 0.75f, best);
    for (const char *const *u = unlimited; *u; u++)
        if (memmem(text, len, *u, strlen(*u))) {
            add_signal(r, "no_restrictions", JAILBREAK_NO_RESTRICTIONS, 0.5f, best);
            break;
        }
    for (const char *const *d = devmode; *d; d++)
        if (memmem(text, len, *d, strlen(*d))) {
            add_signal(r, "developer_mode", JAILBREAK_DEVELOPER_MODE, 0.5f, best);
            break;
        }
    for (const char *const *p = sysprompt; *p; p++)
        if (memmem(text, len, *p, strlen(*p))) {
            add_signal(r, "reveal_system_prompt", JAILBREAK_PROMPT_EXFILTRATION, 0.5f, best);
            break;
        }
}

/* Generic slot shapes: {{x}}, {x}, <UPPER>, [UPPER], %UPPER%, ${x}, $UPPER, ___.
 * Returns how many there are (counted up to 8). */
static int count_slots(const char *text, size_t len)
{
    int n = 0;
    for (size_t i = 0; i + 2 < len && n < 8; i++) {
        char c = text[i];
        size_t j = i + 1, k;
        int upper = 0, lower = 0;
        if (c == '_' && text[i + 1] == '_' && text[i + 2] == '_') {
            n++;
            while (i + 1 < len && text[i + 1] == '_')
                i++;
            continue;
        }
        char close = c == '{' ? '}' : c == '<' ? '>' : c == '[' ? ']' : c == '%' ? '%' : 0;
        if (c == '$') close = text[i + 1] == '{' ? '}' : ' ';
        if (!close) continue;
        if (c == '$' && text[i + 1] == '{') j++;
        if (c == '{' && text[i + 1] == '{') j++;
        for (k = j; k < len && k - j <= 24; k++) {
            char d = text[k];
            if (d >= 'A' && d <= 'Z') upper++;
            else if (d >= 'a' && d <= 'z') lower++;
            else if (!(d == '_' || (d == ' ' && c == '[') || (d == '.' && c == '{') ||
                       (d == ' ' && c == '{' && text[i + 1] == '{')))
                break;
        }
        size_t body = k - j;
        int closed = k < len ? text[k] == close : close == ' ';
        if (c == '$' && close == ' ') closed = 1; /* $UPPER ends at any non-word byte */
        if (!closed || body < 1 || body > 24) continue;
        int underscore = memchr(text + j, '_', body) != NULL;
        /* "[BEGIN DOCUMENT]" is a marker, "[USER_INPUT]" a slot */
        int ok = (c == '{' || (c == '$' && text[i + 1] == '{')) ? (upper + lower) >= 1
                 : c == '['                                      ? upper >= 3 && lower == 0 && underscore
                                                                 : upper >= 3 && lower == 0;
        if (ok) {
            n++;
            i = k;
        }
    }
    return n;
}

/* Placeholders of jailbreak templates ("{{char}}", "[INSERT PROMPT HERE]"):
 * a template pasted with its slots is a persona prompt. */
static void check_placeholders(const char *text, size_t len, jailbreak_result *r, float *best)
{
    if (count_slots(text, len) >= 2) {
        add_signal(r, "template_placeholder", JAILBREAK_ROLEPLAY, 0.35f, best);
        return;
    }
    static const char *const slots[] = {"{{char}}", "{{user}}", "[insert prompt here]",
                                        "{prompt}", "<prompt>", "[prompt]", "{{prompt}}",
                                        "<persona>", "[your prompt here]", "<question>",
                                        "[insert question]", "{question}", NULL};
    for (const char *const *s = slots; *s; s++) {
        size_t n = strlen(*s);
        for (size_t i = 0; i + n <= len; i++) {
            if ((text[i] != (*s)[0])) continue;
            if (!strncasecmp(text + i, *s, n)) {
                add_signal(r, "template_placeholder", JAILBREAK_ROLEPLAY, 0.35f, best);
                return;
            }
        }
    }
}

/* Fake chat-template or role markers inside a user message. */
static void check_role_tags(const char *text, size_t len, jailbreak_result *r, float *best)
{
    static const char *const tags[] = {
        "<|im_start|>", "<|system|>", "<|start_header_id|>", "[INST]",  "<<SYS>>",  "<system>",
        "[system]",     "### System", "###System",           "[SYSTEM", "{system}", "<|endoftext|>",
        "</s><s>",      NULL};
    for (const char *const *t = tags; *t; t++)
        if (memmem(text, len, *t, strlen(*t))) {
            add_signal(r, "fake_role_tag", JAILBREAK_FAKE_ROLE_TAG, 0.45f, best);
            return;
        }
    /* "SYSTEM:" / "System override:" at a line start */
    for (size_t i = 0; i + 7 <= len; i++) {
        if (i > 0 && text[i - 1] != '\n') continue;
        /* the text is len bytes, not NUL-terminated: compare only what is there */
        size_t left = len - i;
        if (!strncasecmp(text + i, "system:", 7) ||
            (left >= 15 && !strncasecmp(text + i, "system override", 15)) ||
            !strncasecmp(text + i, "admin:", 6)) {
            add_signal(r, "fake_role_tag", JAILBREAK_FAKE_ROLE_TAG, 0.45f, best);
            return;
        }
    }
}

static int scan_decoded(const unsigned char *dec, size_t n, jailbreak_result *r, float *best,
                        const char *name, unsigned type, float weight);

/* Payload splitting: the attack is cut into quoted fragments ("a = 'how to
 * make'; b = '...'; answer a+b") so no fragment looks harmful. The quoted
 * fragments are joined in order and scanned like a message of their own. */
static void check_payload_splitting(const char *text, size_t len, jailbreak_result *r, float *best)
{
    char joined[2048];
    size_t jn = 0;
    int assigns = 0, quoted = 0;
    for (size_t i = 0; i < len; i++) {
        int q = (unsigned char)text[i];
        if (q != '"' && q != '\'') continue;
        if (q == '\'' && i > 0 && isalnum_ascii(text[i - 1])) continue; /* apostrophe */
        size_t e = i + 1;
        while (e < len && text[e] != q && text[e] != '\n')
            e++;
        if (e >= len || text[e] != q || e - i - 1 == 0 || e - i - 1 > 300) continue;
        size_t k = i;
        while (k > 0 && (text[k - 1] == ' ' || text[k - 1] == ':'))
            k--;
        if (k > 0 && text[k - 1] == '=') assigns++;
        quoted++;
        if (jn + (e - i) + 1 < sizeof joined) {
            memcpy(joined + jn, text + i + 1, e - i - 1);
            jn += e - i - 1;
            joined[jn++] = ' ';
        }
        i = e;
    }
    if (quoted < 2) return;

    int plus = 0;
    for (size_t i = 1; i + 1 < len; i++)
        if (text[i] == '+' && (isalnum_ascii(text[i - 1]) || text[i - 1] == ' ') &&
            (isalnum_ascii(text[i + 1]) || text[i + 1] == ' '))
            plus = 1;
    words ws;
    int asks = 0;
    if (split_words(text, len, &ws) == 0) asks = word_in(&ws, COMBINE_WORDS);
    free_words(&ws);
    if (!(assigns >= 2 || asks) || !(plus || asks)) return;
    if (scan_decoded((const unsigned char *)joined, jn, r, best, "payload_splitting",
                     JAILBREAK_PAYLOAD_SPLITTING, 0.6f))
        return;
    int harm = 0;
    if (split_words(joined, jn, &ws) == 0) harm = word_in(&ws, HARM_WORDS);
    free_words(&ws);
    add_signal(r, harm ? "payload_splitting" : "split_strings", JAILBREAK_PAYLOAD_SPLITTING,
               harm ? 0.6f : 0.2f, best);
}

static void scan_patterns(const char *text, size_t len, jailbreak_result *r, float *best,
                          int depth);

static int printable_ratio_ok(const unsigned char *s, size_t n)
{
    if (n < 8) return 0;
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += (s[i] >= 32 && s[i] < 127) || s[i] == '\n' || s[i] == '\t';
    return ok * 10 >= n * 9;
}

/* Scans decoded (or reassembled) bytes as a message of their own; when they
 * carry an attack signal, those signals and `name` are added. Returns 1 then. */
static int scan_decoded(const unsigned char *dec, size_t n, jailbreak_result *r, float *best,
                        const char *name, unsigned type, float weight)
{
    if (!printable_ratio_ok(dec, n)) return 0;
    jailbreak_result sub;
    float sub_best[JAILBREAK_MAX_PATTERNS];
    memset(&sub, 0, sizeof sub);
    scan_patterns((const char *)dec, n, &sub, sub_best, 1);
    if (sub.n_patterns == 0) return 0;
    for (int k = 0; k < sub.n_patterns; k++)
        add_signal(r, sub.patterns[k], sub.types, sub_best[k], best);
    add_signal(r, name, type, weight, best);
    return 1;
}

/* Base64 and hex blobs are decoded and scanned; rot13 when the text asks for it. */
static void check_encoded(const char *text, size_t len, const words *ws, jailbreak_result *r,
                          float *best)
{

    int asks_decode = word_in(ws, DECODE_WORDS);
    int carried = 0, blobs = 0;
    for (size_t i = 0; i < len;) {
        size_t s = i;
        int hex_only = 1, mixed_case = 0, lower = 0, upper = 0;
        while (i < len && codec_base64_value((unsigned char)text[i], CODEC_BASE64_URL_TOO) >= 0) {
            int c = (unsigned char)text[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
                hex_only = 0;
            lower |= c >= 'a' && c <= 'z';
            upper |= c >= 'A' && c <= 'Z';
            i++;
        }
        mixed_case = lower && upper;
        size_t n = i - s;
        while (i < len && text[i] == '=')
            i++;
        if (n < 16) {
            if (i == s) i++;
            continue;
        }
        unsigned char *dec = malloc(n + 1);
        if (!dec) return;
        size_t dn = 0;
        if (hex_only && n % 2 == 0 && !mixed_case) {
            codec_hex_decode(text + s, n / 2, dec); /* hex_only: every byte is a digit */
            dn = n / 2;
            if (printable_ratio_ok(dec, dn)) {
                blobs++;
                carried |=
                    scan_decoded(dec, dn, r, best, "encoded_instruction", JAILBREAK_ENCODED, 0.6f);
            }
            dn = 0;
        }
        if (mixed_case || !hex_only) {
            /* a last lone letter (4k+1) carries no whole byte: decoded without it */
            long got = codec_base64_decode_into(text + s, n - (n % 4 == 1), dec, n + 1,
                                                CODEC_BASE64_URL_TOO);
            dn = got > 0 ? (size_t)got : 0;
            if (printable_ratio_ok(dec, dn)) {
                blobs++;
                carried |=
                    scan_decoded(dec, dn, r, best, "encoded_instruction", JAILBREAK_ENCODED, 0.6f);
            }
        }
        free(dec);
    }
    /* percent-encoding ("ignore%20all%20previous...") and HTML character references
     * ("&#105;&#103;..."): decoded when there are at least three */
    int escapes = 0;
    for (size_t k = 0; k + 2 < len && escapes < 3; k++)
        escapes += (text[k] == '%' && isxdigit((unsigned char)text[k + 1]) &&
                    isxdigit((unsigned char)text[k + 2])) ||
                   (text[k] == '&' && text[k + 1] == '#');
    if (escapes >= 3) {
        unsigned char *dec = malloc(len + 1);
        if (dec) {
            size_t dn = 0;
            for (size_t k = 0; k < len;) {
                if (text[k] == '%' && k + 2 < len && isxdigit((unsigned char)text[k + 1]) &&
                    isxdigit((unsigned char)text[k + 2])) {
                    codec_hex_decode(text + k + 1, 1, dec + dn++);
                    k += 3;
                    continue;
                }
                if (text[k] == '&' && k + 3 < len && text[k + 1] == '#') {
                    int hex = text[k + 2] == 'x' || text[k + 2] == 'X';
                    size_t j = k + 2 + (size_t)hex;
                    unsigned v = 0;
                    size_t digits = 0;
                    while (j < len && digits < 6 &&
                           (hex ? isxdigit((unsigned char)text[j]) : isdigit((unsigned char)text[j]))) {
                        int d = (unsigned char)text[j];
                        v = v * (hex ? 16u : 10u) +
                            (unsigned)(d <= '9' ? d - '0' : (d | 32) - 'a' + 10);
                        j++, digits++;
                    }
                    if (digits && j < len && text[j] == ';' && v > 0 && v < 128) {
                        dec[dn++] = (unsigned char)v;
                        k = j + 1;
                        continue;
                    }
                }
                dec[dn++] = (unsigned char)text[k++];
            }
            carried |= scan_decoded(dec, dn, r, best, "encoded_instruction", JAILBREAK_ENCODED, 0.6f);
            free(dec);
        }
    }
    if (word_in(ws, ROT_WORDS)) {
        char *rot = malloc(len + 1);
        if (rot) {
            for (size_t k = 0; k < len; k++) {
                int c = (unsigned char)text[k];
                if (c >= 'a' && c <= 'z')
                    c = 'a' + (c - 'a' + 13) % 26;
                else if (c >= 'A' && c <= 'Z')
                    c = 'A' + (c - 'A' + 13) % 26;
                rot[k] = (char)c;
            }
            carried |= scan_decoded((unsigned char *)rot, len, r, best, "encoded_instruction",
                                    JAILBREAK_ENCODED, 0.6f);
            free(rot);
        }
    }
    if (word_in(ws, REVERSE_WORDS)) {
        char *rev = malloc(len + 1);
        if (rev) {
            for (size_t k = 0; k < len; k++)
                rev[k] = text[len - 1 - k];
            carried |= scan_decoded((unsigned char *)rev, len, r, best, "encoded_instruction",
                                    JAILBREAK_ENCODED, 0.6f);
            free(rev);
        }
    }
    if (!carried && blobs && asks_decode)
        add_signal(r, "encoded_payload", JAILBREAK_ENCODED, 0.15f, best);
}

/* Evidence that combines: a request for harmful instructions next to any
 * unlocking move (a persona, restrictions removed or switched off, developer
 * mode, a fictional frame) is the wrapper attack whatever the wrapper's words;
 * template slots next to a persona or removed restrictions are a persona
 * template. */
static int has_signal(const jailbreak_result *r, const char *name)
{
    for (int k = 0; k < r->n_patterns; k++)
        if (!strcmp(r->patterns[k], name)) return 1;
    return 0;
}

static void combine_signals(jailbreak_result *r, float *best)
{
    unsigned unlock = 0;
    for (int k = 0; k < r->n_patterns; k++) {
        const char *n = r->patterns[k];
        if (!strcmp(n, "harmful_howto") || !strcmp(n, "template_placeholder") ||
            !strcmp(n, "from_now_on") || !strcmp(n, "grandma_exploit"))
            continue;
        unlock = 1;
    }
    if (unlock && has_signal(r, "harmful_howto"))
        add_signal(r, "harmful_request_unlocked", JAILBREAK_HARMFUL_FICTION, 0.6f, best);
    if (has_signal(r, "template_placeholder") &&
        (r->types & (JAILBREAK_ROLEPLAY | JAILBREAK_NO_RESTRICTIONS)) && r->n_patterns > 1)
        add_signal(r, "persona_template", JAILBREAK_ROLEPLAY, 0.5f, best);
}

static void scan_chunk(const char *text, size_t len, jailbreak_result *r, float *best, int depth)
{
    words ws;
    if (split_words(text, len, &ws) == 0) {
        for (int s = 0; s < g_n_signals; s++)
            if (signal_matches(&g_signals[s], &ws))
                add_signal(r, g_signals[s].def->name, g_signals[s].def->type,
                           g_signals[s].def->weight, best);
        check_harmful_fiction(&ws, r, best);
        check_role_tags(text, len, r, best);
        check_cjk(text, len, r, best);
        check_placeholders(text, len, r, best);
        if (depth == 0) {
            check_payload_splitting(text, len, r, best);
            check_encoded(text, len, &ws, r, best);
            size_t tlen;
            char *tr = translate_words(&ws, &tlen);
            if (tr) {
                jailbreak_result sub;
                float sub_best[JAILBREAK_MAX_PATTERNS];
                memset(&sub, 0, sizeof sub);
                scan_chunk(tr, tlen, &sub, sub_best, 1);
                for (int k = 0; k < sub.n_patterns; k++)
                    add_signal(r, sub.patterns[k], sub.types, sub_best[k], best);
                free(tr);
            }
        }
    }
    free_words(&ws);
    if (depth > 0) return;
    /* "ig-nore all pre-vious in-struc-tions": a second view with the hyphens
     * inside words removed, when there are a few of them */
    int hyphens = 0;
    for (size_t i = 1; i + 1 < len && hyphens < 2; i++)
        hyphens += text[i] == '-' && isalnum_ascii(text[i - 1]) && isalnum_ascii(text[i + 1]);
    if (hyphens < 2) return;
    char *joined = malloc(len);
    if (!joined) return;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!(text[i] == '-' && i > 0 && i + 1 < len && isalnum_ascii(text[i - 1]) &&
              isalnum_ascii(text[i + 1])))
            joined[n++] = text[i];
    jailbreak_result sub;
    float sub_best[JAILBREAK_MAX_PATTERNS];
    memset(&sub, 0, sizeof sub);
    scan_chunk(joined, n, &sub, sub_best, 1);
    for (int k = 0; k < sub.n_patterns; k++)
        add_signal(r, sub.patterns[k], sub.types, sub_best[k], best);
    free(joined);
}

/* The word splitter holds at most MAX_WORDS words, so a long text is scanned in
 * overlapping chunks: an attack buried at the end of a long document is read
 * like one at its start, and the work stays linear in the length. */
#define SCAN_CHUNK 32768
#define SCAN_OVERLAP 1024
static void scan_patterns(const char *text, size_t len, jailbreak_result *r, float *best, int depth)
{
    if (len <= SCAN_CHUNK) {
        scan_chunk(text, len, r, best, depth);
        return;
    }
    for (size_t s = 0; s < len; s += SCAN_CHUNK - SCAN_OVERLAP) {
        size_t n = len - s < SCAN_CHUNK ? len - s : SCAN_CHUNK;
        scan_chunk(text + s, n, r, best, depth);
        if (s + n >= len) break;
    }
}

/* ------------------------------------------------------------ the detector */

struct jailbreak_detector {
    const embed_model *model; /* for the windows of long texts; NULL = patterns only */
    int n, dim;
    char **texts;
    float *vecs;   /* n * dim, L2-normalised, NULL = patterns only */
    int n_benign;  /* contrast anchors (ordinary requests) */
    float *benign; /* n_benign * dim */
};

void jailbreak_free(jailbreak_detector *d)
{
    if (!d) return;
    for (int i = 0; i < d->n; i++)
        free(d->texts[i]);
    free(d->texts);
    free(d->vecs);
    free(d->benign);
    free(d);
}

int jailbreak_exemplar_count(const jailbreak_detector *d)
{
    return d ? d->n : 0;
}
const char *jailbreak_exemplar(const jailbreak_detector *d, int i)
{
    return d && i >= 0 && i < d->n ? d->texts[i] : NULL;
}
int jailbreak_dim(const jailbreak_detector *d)
{
    return d && d->vecs ? d->dim : 0;
}

/* Reads the non-empty, non-'#' lines of path into a malloc'd array. */
static char **read_lines(const char *path, int *n, char *err, size_t errlen)
{
    size_t len;
    char ferr[256];
    char *data = util_read_file(path, &len, ferr, sizeof ferr);
    *n = 0;
    if (!data) {
        snprintf(err, errlen, "jailbreak exemplars: %s", ferr);
        return NULL;
    }
    char **v = NULL;
    size_t cap = 0;
    for (char *line = data, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\r' || line[l - 1] == ' '))
            line[--l] = 0;
        if (!l || line[0] == '#') continue;
        if (array_grow(&v, &cap, (size_t)*n + 1, sizeof *v, 256)) goto oom;
        if (!(v[*n] = strdup(line))) goto oom;
        (*n)++;
    }
    free(data);
    if (*n == 0) {
        snprintf(err, errlen, "jailbreak exemplars: %s has no lines", path);
        free(v);
        return NULL;
    }
    return v;
oom:
    for (int i = 0; i < *n; i++)
        free(v[i]);
    free(v);
    free(data);
    *n = 0;
    snprintf(err, errlen, "jailbreak exemplars: out of memory reading %s", path);
    return NULL;
}

static float *embed_lines(const embed_model *m, char **lines, int n, char *err, size_t errlen)
{
    int dim = embed_dim(m);
    float *v = malloc(sizeof(float) * (size_t)n * (size_t)dim);
    embed_state *st = embed_state_new(m);
    if (!v || !st) {
        snprintf(err, errlen, "jailbreak exemplars: out of memory embedding");
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        char eerr[256];
        if (embed_text(m, st, lines[i], strlen(lines[i]), v + (size_t)i * (size_t)dim, NULL, eerr,
                       sizeof eerr) != 0) {
            snprintf(err, errlen, "jailbreak exemplars: embedding \"%.40s\" failed: %s", lines[i],
                     eerr);
            goto fail;
        }
    }
    embed_state_free(st);
    return v;
fail:
    embed_state_free(st);
    free(v);
    return NULL;
}

jailbreak_detector *jailbreak_load(const char *exemplars_path, const embed_model *m, char *err,
                                   size_t errlen)
{
    pthread_once(&g_once, compile_signals);
    if (!g_signals || g_compile_failed) {
        snprintf(err, errlen, "jailbreak: out of memory compiling signals");
        return NULL;
    }
    jailbreak_detector *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "jailbreak: out of memory");
        return NULL;
    }
    if (!exemplars_path) return d;
    if (!(d->texts = read_lines(exemplars_path, &d->n, err, errlen))) goto fail;
    if (!m) return d;
    d->dim = embed_dim(m);
    if (d->dim <= 0) {
        snprintf(err, errlen, "jailbreak exemplars: the embedding model reports no dimension");
        goto fail;
    }
    if (!(d->vecs = embed_lines(m, d->texts, d->n, err, errlen))) goto fail;
    d->model = m;
    /* Optional contrast set next to the exemplars (same folder). */
    char anchors[1024];
    const char *slash = strrchr(exemplars_path, '/');
    int dir = slash ? (int)(slash - exemplars_path + 1) : 0;
    snprintf(anchors, sizeof anchors, "%.*s%s", dir, exemplars_path, JAILBREAK_ANCHORS_FILE);
    FILE *probe = fopen(anchors, "r");
    if (probe) {
        fclose(probe);
        int nb;
        char **lines = read_lines(anchors, &nb, err, errlen);
        if (!lines) goto fail;
        d->benign = embed_lines(m, lines, nb, err, errlen);
        for (int i = 0; i < nb; i++)
            free(lines[i]);
        free(lines);
        if (!d->benign) goto fail;
        d->n_benign = nb;
    }
    return d;
fail:
    jailbreak_free(d);
    return NULL;
}

/* Top-TOPK cosines of q against n rows (descending; missing entries are 0). */
static void topk_similarity(const float *rows, int n, int dim, const float *q, float *top,
                            int *argmax)
{
    for (int k = 0; k < TOPK; k++)
        top[k] = 0;
    float best = -2;
    for (int i = 0; i < n; i++) {
        float dot = vec_kernels_best()->dot_f32(rows + (size_t)i * (size_t)dim, q, (size_t)dim);
        if (dot > best) {
            best = dot;
            if (argmax) *argmax = i;
        }
        for (int k = 0; k < TOPK; k++)
            if (dot > top[k] || (i < TOPK && k == i)) {
                for (int j = TOPK - 1; j > k; j--)
                    top[j] = top[j - 1];
                top[k] = dot;
                break;
            }
    }
}

static double topk_mean(const float *top, int n)
{
    int k = n < TOPK ? n : TOPK;
    double s = 0;
    for (int i = 0; i < k; i++)
        s += top[i];
    return k ? s / k : 0;
}

/* Logistic calibration of one vector (see the constants at the top). */
static double similarity_p(const jailbreak_detector *d, const float *vec, float pattern_score,
                           float *sim, float *benign_sim, int *nearest)
{
    float top_a[TOPK], top_b[TOPK];
    topk_similarity(d->vecs, d->n, d->dim, vec, top_a, nearest);
    if (sim) *sim = top_a[0];
    double z;
    if (d->n_benign > 0) {
        topk_similarity(d->benign, d->n_benign, d->dim, vec, top_b, NULL);
        if (benign_sim) *benign_sim = top_b[0];
        z = W_ATTACK * topk_mean(top_a, d->n) + W_BENIGN * topk_mean(top_b, d->n_benign) +
            W_PATTERN * pattern_score + BIAS;
    } else {
        z = W_ATTACK_ONLY * topk_mean(top_a, d->n) + W_PATTERN_ONLY * pattern_score + BIAS_ONLY;
    }
    return 1.0 / (1.0 + exp(-z));
}

/* Words that make a stretch of a long text worth embedding on its own. */
static const char *const WINDOW_STEMS[] = {
    "ignor", "disregard", "forget", "instruction", "rules", "guideline", "prompt", "system",
    "pretend", "you are", "you're", "restrict", "filter", "jailbreak", "developer", "mode",
    "persona", "unfilter", "uncensor", "no longer", "from now on", "reveal", "bypass",
    "override", "assistant", "polic", "ethic", "refus", NULL};

/* Long texts: the caller's vector covers the first embedding window only. Up to
 * JAILBREAK_MAX_WINDOWS further windows are embedded: those with the most
 * attack-like words (counted in one pass over the text), then the last one.
 * Returns the best probability among them (0 when none was embedded). */
static double window_p(const jailbreak_detector *d, const char *text, size_t len,
                       float pattern_score, int *embedded)
{
    *embedded = 0;
    if (!d->model || len <= 2 * JAILBREAK_WINDOW_BYTES || embed_max_tokens(d->model) <= 0) return 0;
    size_t stride = JAILBREAK_WINDOW_BYTES / 2;
    size_t nwin = (len - JAILBREAK_WINDOW_BYTES) / stride + 1; /* window k starts at k*stride */
    /* hits per stride bucket, then window score = its two buckets */
    size_t nb = len / stride + 1;
    unsigned *bucket = calloc(nb, sizeof *bucket);
    if (!bucket) return 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)text[i] | 32;
        if (c < 'a' || c > 'y' || (i > 0 && isalnum_ascii(text[i - 1]))) continue;
        for (const char *const *w = WINDOW_STEMS; *w; w++)
            if ((*w)[0] == c && strlen(*w) <= len - i && !strncasecmp(text + i, *w, strlen(*w))) {
                bucket[i / stride]++;
                break;
            }
    }
    size_t pick[JAILBREAK_MAX_WINDOWS];
    int np = 0;
    unsigned char *taken = calloc(nwin + 1, 1);
    if (!taken) {
        free(bucket);
        return 0;
    }
    for (int round = 0; round < JAILBREAK_MAX_WINDOWS - 1; round++) {
        size_t best = 0;
        unsigned best_hits = 0;
        for (size_t k = 2; k < nwin; k++) { /* windows 0 and 1 overlap the caller's vector */
            unsigned h = bucket[k] + (k + 1 < nb ? bucket[k + 1] : 0);
            if (!taken[k] && h > best_hits) best = k, best_hits = h;
        }
        if (best_hits == 0) break;
        pick[np++] = best;
        for (size_t k = best > 0 ? best - 1 : 0; k <= best + 1 && k < nwin; k++)
            taken[k] = 1;
    }
    if (nwin > 2 && !taken[nwin - 1]) pick[np++] = nwin - 1;
    free(bucket);
    free(taken);
    if (np == 0) return 0;
    const char *texts[JAILBREAK_MAX_WINDOWS];
    size_t lens[JAILBREAK_MAX_WINDOWS];
    for (int k = 0; k < np; k++) {
        size_t s = pick[k] * stride, e = s + JAILBREAK_WINDOW_BYTES;
        if (e > len) e = len;
        while (s < e && text[s] != ' ' && text[s] != '\n') /* start at a word */
            s++;
        texts[k] = text + s;
        lens[k] = e - s;
    }
    float *v = malloc(sizeof(float) * (size_t)np * (size_t)d->dim);
    embed_state *st = embed_state_new(d->model);
    double best = 0;
    char err[128];
    if (v && st && embed_batch(d->model, st, texts, lens, np, v, err, sizeof err) == 0) {
        *embedded = np;
        for (int k = 0; k < np; k++) {
            double p = similarity_p(d, v + (size_t)k * (size_t)d->dim, pattern_score, NULL, NULL,
                                    NULL);
            if (p > best) best = p;
        }
    }
    embed_state_free(st);
    free(v);
    return best;
}

int jailbreak_check(const jailbreak_detector *d, const char *text, size_t len,
                    const float *text_vec, float threshold, jailbreak_result *r)
{
    if (!d || !r) return -1;
    memset(r, 0, sizeof *r);
    r->nearest = -1;
    if (!text) text = "", len = 0;
    if (threshold <= 0) threshold = JAILBREAK_DEFAULT_THRESHOLD;
    /* the scan cap: head + tail of a long text (jailbreak.h) */
    util_capped capped;
    if (util_cap_head_tail(text, len, JAILBREAK_SCAN_HEAD_BYTES, JAILBREAK_SCAN_TAIL_BYTES, &capped))
        len = util_utf8_head(text, len, JAILBREAK_SCAN_HEAD_BYTES); /* out of memory: the head */
    else if (capped.text)
        text = capped.text, len = capped.len;
    r->scanned_bytes = capped.text ? capped.head + (capped.len - capped.tail_at) : len;
    float best[JAILBREAK_MAX_PATTERNS] = {0};
    scan_patterns(text, len, r, best, 0);
    combine_signals(r, best);
    double keep = 1.0;
    for (int k = 0; k < r->n_patterns; k++)
        keep *= 1.0 - best[k];
    r->pattern_score = (float)(1.0 - keep);
    double conf = r->pattern_score;
    if (text_vec && d->vecs) {
        double p = similarity_p(d, text_vec, r->pattern_score, &r->similarity,
                                &r->benign_similarity, &r->nearest);
        double pw = window_p(d, text, len, r->pattern_score, &r->windows);
        if (pw > p) p = pw;
        /* the embedding, not the patterns, carried this decision */
        if (p >= 0.5 && p > r->pattern_score && r->n_patterns < JAILBREAK_MAX_PATTERNS) {
            r->types |= JAILBREAK_SIMILARITY;
            r->patterns[r->n_patterns++] = pw >= p && r->windows ? "window_similarity"
                                                                 : "exemplar_similarity";
        }
        if (p > conf) conf = p;
    }
    r->confidence = (float)conf;
    r->is_jailbreak = r->confidence >= threshold;
    free(capped.text);
    return 0;
}

const char *jailbreak_type_name(unsigned type_bit)
{
    static const char *const names[JAILBREAK_TYPE_COUNT] = {
        "instruction_override", "roleplay",           "developer_mode",       "no_restrictions",
        "prompt_exfiltration",  "payload_splitting",  "encoded_instructions", "harmful_fiction",
        "fake_role_tag",        "exemplar_similarity"};
    for (int k = 0; k < JAILBREAK_TYPE_COUNT; k++)
        if (type_bit == (1u << k)) return names[k];
    return "unknown";
}
