package org.spdksr.plugin.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns what xapi-storage-script or static-vdis sent into {@link Arguments}, with the type rules
 * of smapiv3.md §3.5. Every failure names the method and the argument.
 */
public final class ArgumentDecoder {
    private static final Logger LOG = LoggerFactory.getLogger(ArgumentDecoder.class);

    private ArgumentDecoder() {}

    static Class<?> javaTypeOf(ParamType type) {
        return switch (type) {
            case STRING -> String.class;
            case BOOL -> Boolean.class;
            case INT -> Integer.class;
            case INT64 -> Long.class;
            case STRING_MAP -> Map.class;
        };
    }

    /** The {@code --json} form: the named arguments as one JSON object (smapiv3.md §3.1). */
    public static Arguments fromJson(MethodSpec spec, JsonNode request) {
        if (request == null || !request.isObject()) {
            throw invalid(spec, "the arguments must be one JSON object, got "
                    + (request == null ? "nothing" : request.getNodeType().toString().toLowerCase()));
        }
        Map<String, Object> values = new HashMap<>();
        for (Param param : spec.params()) {
            JsonNode node = request.get(param.name());
            if (node == null || node.isNull()) {
                throw invalid(spec, "argument '" + param.name() + "' (" + param.type().description() + ") is missing");
            }
            values.put(param.name(), decode(spec, param, node));
        }
        String dbg = dbgOf(spec, request.get("dbg"));
        // Newer xapi versions add arguments (smapiv3.md §0: an image-format argument after 26.4.0);
        // refusing them would break the plugin on a toolstack update, so they are only logged.
        Iterator<String> names = request.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            if (!name.equals("dbg") && spec.params().stream().noneMatch(p -> p.name().equals(name))) {
                LOG.warn("{}: ignoring argument '{}' this plugin does not know", spec.name(), name);
            }
        }
        return new Arguments(spec.name(), dbg, values);
    }

    /**
     * The static-vdis form (smapiv3.md §3.8): {@code dbg} first, then the other arguments
     * positionally in IDL order, except maps, which come as repeated {@code --<name> <k> <v>}.
     */
    public static Arguments fromPositional(MethodSpec spec, List<String> argv) {
        Map<String, Map<String, String>> maps = new LinkedHashMap<>();
        List<String> positional = new ArrayList<>();
        for (int i = 0; i < argv.size(); i++) {
            String word = argv.get(i);
            if (word.startsWith("--")) {
                String name = word.substring(2);
                Param param = spec.params().stream()
                        .filter(p -> p.name().equals(name) && p.type() == ParamType.STRING_MAP)
                        .findFirst()
                        .orElseThrow(() -> invalid(spec, "unknown option " + word));
                if (i + 2 >= argv.size()) {
                    throw invalid(spec, "option " + word + " needs a key and a value");
                }
                maps.computeIfAbsent(param.name(), n -> new LinkedHashMap<>()).put(argv.get(i + 1), argv.get(i + 2));
                i += 2;
            } else {
                positional.add(word);
            }
        }
        List<Param> scalars = spec.params().stream().filter(p -> p.type() != ParamType.STRING_MAP).toList();
        if (positional.size() != scalars.size() + 1) {
            throw invalid(spec, "expected " + (scalars.size() + 1) + " positional arguments (dbg"
                    + scalars.stream().map(p -> ", " + p.name()).reduce("", String::concat) + "), got "
                    + positional.size());
        }
        Map<String, Object> values = new HashMap<>();
        for (int i = 0; i < scalars.size(); i++) {
            Param param = scalars.get(i);
            values.put(param.name(), decodeWord(spec, param, positional.get(i + 1)));
        }
        for (Param param : spec.params()) {
            if (param.type() == ParamType.STRING_MAP) {
                values.put(param.name(), Map.copyOf(maps.getOrDefault(param.name(), Map.of())));
            }
        }
        return new Arguments(spec.name(), positional.get(0), values);
    }

    private static String dbgOf(MethodSpec spec, JsonNode node) {
        if (node == null || node.isNull()) {
            return "";
        }
        if (!node.isTextual()) {
            throw invalid(spec, "argument 'dbg' must be a string");
        }
        return node.textValue();
    }

    private static Object decode(MethodSpec spec, Param param, JsonNode node) {
        return switch (param.type()) {
            case STRING -> {
                if (!node.isTextual()) {
                    throw mistyped(spec, param, node);
                }
                yield node.textValue();
            }
            case BOOL -> {
                // rpclib does not take "true" as a bool (§3.5).
                if (!node.isBoolean()) {
                    throw mistyped(spec, param, node);
                }
                yield node.booleanValue();
            }
            case INT64 -> integerOf(spec, param, node, Long.MIN_VALUE, Long.MAX_VALUE);
            case INT -> (int) integerOf(spec, param, node, Integer.MIN_VALUE, Integer.MAX_VALUE);
            case STRING_MAP -> {
                if (!node.isObject()) {
                    throw mistyped(spec, param, node);
                }
                Map<String, String> map = new LinkedHashMap<>();
                var fields = node.fields();
                while (fields.hasNext()) {
                    var field = fields.next();
                    if (!field.getValue().isTextual()) {
                        throw invalid(spec, "argument '" + param.name() + "': the value of key '" + field.getKey()
                                + "' must be a string");
                    }
                    map.put(field.getKey(), field.getValue().textValue());
                }
                yield Map.copyOf(map);
            }
        };
    }

    private static long integerOf(MethodSpec spec, Param param, JsonNode node, long min, long max) {
        BigInteger value;
        if (node.isIntegralNumber()) {
            value = node.bigIntegerValue();
        } else if (node.isTextual() && node.textValue().matches("-?[0-9]{1,40}")) {
            value = new BigInteger(node.textValue());
        } else {
            throw mistyped(spec, param, node);
        }
        if (value.compareTo(BigInteger.valueOf(min)) < 0 || value.compareTo(BigInteger.valueOf(max)) > 0) {
            throw invalid(spec, "argument '" + param.name() + "' is out of range for " + param.type().description()
                    + ": " + value);
        }
        return value.longValue();
    }

    private static Object decodeWord(MethodSpec spec, Param param, String word) {
        return switch (param.type()) {
            case STRING -> word;
            case BOOL -> switch (word.toLowerCase()) {
                case "true" -> Boolean.TRUE;
                case "false" -> Boolean.FALSE;
                default -> throw invalid(spec, "argument '" + param.name() + "' must be true or false, got '" + word + "'");
            };
            case INT64, INT -> {
                com.fasterxml.jackson.databind.node.TextNode text =
                        com.fasterxml.jackson.databind.node.TextNode.valueOf(word);
                long v = integerOf(spec, param, text,
                        param.type() == ParamType.INT ? Integer.MIN_VALUE : Long.MIN_VALUE,
                        param.type() == ParamType.INT ? Integer.MAX_VALUE : Long.MAX_VALUE);
                yield param.type() == ParamType.INT ? (Object) (int) v : (Object) v;
            }
            case STRING_MAP -> throw new IllegalStateException("maps are options in the positional form");
        };
    }

    private static SmapiException mistyped(MethodSpec spec, Param param, JsonNode node) {
        return invalid(spec, "argument '" + param.name() + "' must be " + param.type().description() + ", got "
                + describe(node));
    }

    private static String describe(JsonNode node) {
        String text = node.toString();
        if (text.length() > 60) {
            text = text.substring(0, 57) + "...";
        }
        return node.getNodeType().toString().toLowerCase() + " " + text;
    }

    static SmapiException invalid(MethodSpec spec, String detail) {
        return new SmapiException(StorageError.invalidArguments(spec.name()),
                spec.name() + ": " + detail + ". The call was malformed; this is a bug in the caller.");
    }
}
